// `#[mcp_server]` impl blocks, including a generic one.
use mcp_rs_server::prelude::*;
use std::sync::Mutex;

struct Notes {
    notes: Mutex<Vec<String>>,
}

#[mcp_server]
impl Notes {
    /// Add a note.
    #[mcp_tool(idempotent = false)]
    async fn add_note(&self, text: String) -> usize {
        let mut notes = self.notes.lock().unwrap();
        notes.push(text);
        notes.len()
    }

    /// All notes.
    #[mcp_resource(uri = "notes://all")]
    async fn all(&self) -> String {
        self.notes.lock().unwrap().join("\n")
    }

    /// One note.
    #[mcp_resource_template(uri_template = "notes://{index}")]
    async fn note(&self, index: usize) -> Result<String, McpError> {
        self.notes.lock().unwrap().get(index).cloned().ok_or_else(|| McpError::resource_not_found("notes://"))
    }

    /// Summarise the notes.
    #[mcp_prompt]
    async fn summarise(&self, #[complete(values = ["short", "long"])] style: String) -> String {
        format!("{style}: {}", self.notes.lock().unwrap().len())
    }

    /// Associated functions work too.
    #[mcp_tool]
    async fn version() -> &'static str {
        "1"
    }

    /// Not an MCP item.
    fn helper(&self) -> usize {
        0
    }
}

struct Echo<T> {
    prefix: T,
}

#[mcp_server]
impl<T: std::fmt::Display + Send + Sync + 'static> Echo<T> {
    /// Echo with a prefix.
    #[mcp_tool]
    async fn echo(&self, text: String) -> String {
        format!("{}{text}", self.prefix)
    }
}

fn main() {
    let notes = Notes { notes: Mutex::new(Vec::new()) };
    assert_eq!(notes.helper(), 0);
    let server = Server::builder()
        .name("notes")
        .version("1.0.0")
        .with_handler(notes)
        .with_handler(Echo { prefix: "> " })
        .build();
    drop(server);
}
