//! The registry: tools, resources, resource templates and prompts of a server, changeable at
//! runtime. Lists are ordered by name (tools, prompts), URI (resources) or template text and
//! paginated with opaque cursors.

pub(crate) mod pagination;
pub mod uri_template;

use crate::completion::CompletionProvider;
use crate::error::BuildError;
use crate::prompt::PromptDef;
use crate::resource::{ResourceDef, ResourceTemplateDef};
use crate::tool::ToolDef;
use arc_swap::ArcSwap;
use pagination::CursorCodec;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};
use uri_template::UriTemplate;

/// A registered tool with its argument validator (compiled once).
pub(crate) struct ToolEntry {
    pub(crate) def: ToolDef,
    pub(crate) validator: Option<jsonschema::Validator>,
    #[cfg(debug_assertions)]
    pub(crate) output_validator: Option<jsonschema::Validator>,
    /// The tool's SEP-2243 `x-mcp-header` declarations (validated at registration).
    #[cfg_attr(not(feature = "http"), allow(dead_code))]
    pub(crate) param_headers: crate::protocol::ParamHeaders,
}

/// A registered resource template with its parsed template.
pub(crate) struct TemplateEntry {
    pub(crate) def: ResourceTemplateDef,
    pub(crate) template: UriTemplate,
}

/// Extra completion providers registered on the builder, by (target, argument).
pub(crate) type CompletionMap =
    HashMap<(crate::completion::CompletionTarget, String), Arc<dyn CompletionProvider>>;

/// Tools, resources, templates and prompts, each an immutable snapshot that requests read
/// without a lock (one atomic load of a pointer, no shared write) and that a change replaces.
#[derive(Default)]
pub(crate) struct Registry {
    tools: Snapshot<BTreeMap<String, Arc<ToolEntry>>>,
    resources: Snapshot<BTreeMap<String, Arc<ResourceDef>>>,
    templates: Snapshot<Templates>,
    prompts: Snapshot<BTreeMap<String, Arc<PromptDef>>>,
    /// Written only while the server is built; read by `completion/complete`.
    pub(crate) completions: RwLock<CompletionMap>,
}

/// Read-mostly state: readers get the current `Arc` (no lock word shared between cores, so
/// `tools/call` on many cores does not contend); writers copy, change and publish under a mutex
/// that only writers take. A copy is a map of `Arc`s, cheap next to how rarely lists change.
#[derive(Default)]
struct Snapshot<T> {
    current: ArcSwap<T>,
    writer: Mutex<()>,
}

impl<T: Clone> Snapshot<T> {
    fn load(&self) -> arc_swap::Guard<Arc<T>> {
        self.current.load()
    }

    /// Applies `change` to a copy of the current value and publishes the copy, unless `change`
    /// returns an error (then nothing changes).
    fn update<R, E>(&self, change: impl FnOnce(&mut T) -> Result<R, E>) -> Result<R, E> {
        let _writer = self
            .writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut next = T::clone(&self.current.load());
        let out = change(&mut next)?;
        self.current.store(Arc::new(next));
        Ok(out)
    }

    /// Removes through `change`, publishing only when it reports a removal.
    fn remove(&self, change: impl FnOnce(&mut T) -> bool) -> bool {
        self.update(|v| if change(v) { Ok(()) } else { Err(()) })
            .is_ok()
    }
}

#[derive(Default, Clone)]
struct Templates {
    by_text: BTreeMap<String, Arc<TemplateEntry>>,
    /// Match order: most literal text first.
    match_order: Vec<Arc<TemplateEntry>>,
}

fn read<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn loc(l: Option<&'static str>) -> String {
    l.unwrap_or("<builder>").to_owned()
}

/// Whether `name` is 1–64 characters of `[A-Za-z0-9._/-]`.
pub(crate) fn valid_tool_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'/'))
}

fn compile(
    tool: &str,
    which: &'static str,
    schema: &serde_json::Map<String, serde_json::Value>,
) -> Result<jsonschema::Validator, BuildError> {
    jsonschema::validator_for(&serde_json::Value::Object(schema.clone())).map_err(|e| {
        BuildError::InvalidSchema {
            tool: tool.to_owned(),
            which,
            message: e.to_string(),
        }
    })
}

/// One page of a list.
pub(crate) struct Page<T> {
    pub(crate) items: Vec<T>,
    pub(crate) next_cursor: Option<String>,
}

/// Pages through `map` after `after`, keeping items `keep` accepts, at most `limit`.
fn page<V, T>(
    map: &BTreeMap<String, V>,
    after: Option<&str>,
    limit: usize,
    mut keep: impl FnMut(&V) -> bool,
    mut project: impl FnMut(&V) -> T,
) -> (Vec<T>, Option<String>) {
    use std::ops::Bound;
    let start = after.map_or(Bound::Unbounded, |k| Bound::Excluded(k.to_owned()));
    let mut items = Vec::new();
    let mut last = None;
    let mut iter = map
        .range::<String, _>((start, Bound::Unbounded))
        .filter(|(_, v)| keep(v));
    for (k, v) in iter.by_ref() {
        items.push(project(v));
        last = Some(k.clone());
        if items.len() == limit {
            break;
        }
    }
    let more = items.len() == limit && iter.next().is_some();
    (items, if more { last } else { None })
}

impl Registry {
    pub(crate) fn add_tool(&self, def: ToolDef) -> Result<(), BuildError> {
        let entry = Self::tool_entry(def)?;
        self.tools.update(|tools| {
            if let Some(existing) = tools.get(&entry.def.tool.name) {
                return Err(BuildError::Duplicate {
                    kind: "tool",
                    name: entry.def.tool.name.clone(),
                    first: loc(existing.def.location),
                    second: loc(entry.def.location),
                });
            }
            tools.insert(entry.def.tool.name.clone(), Arc::new(entry));
            Ok(())
        })
    }

    fn tool_entry(def: ToolDef) -> Result<ToolEntry, BuildError> {
        if !valid_tool_name(&def.tool.name) {
            return Err(BuildError::InvalidToolName {
                name: def.tool.name.clone(),
            });
        }
        let validator = Some(compile(&def.tool.name, "input", &def.tool.input_schema)?);
        #[cfg(debug_assertions)]
        let output_validator = match &def.tool.output_schema {
            Some(s) => Some(compile(&def.tool.name, "output", s)?),
            None => None,
        };
        #[cfg(not(debug_assertions))]
        if let Some(s) = &def.tool.output_schema {
            compile(&def.tool.name, "output", s)?;
        }
        let param_headers =
            crate::protocol::headers::validate_tool_headers(&def.tool).map_err(|e| {
                BuildError::InvalidSchema {
                    tool: def.tool.name.clone(),
                    which: "input",
                    message: e.to_string(),
                }
            })?;
        Ok(ToolEntry {
            def,
            validator,
            #[cfg(debug_assertions)]
            output_validator,
            param_headers,
        })
    }

    pub(crate) fn remove_tool(&self, name: &str) -> bool {
        self.tools.remove(|t| t.remove(name).is_some())
    }

    pub(crate) fn tool(&self, name: &str) -> Option<Arc<ToolEntry>> {
        self.tools.load().get(name).cloned()
    }

    pub(crate) fn tool_count(&self) -> usize {
        self.tools.load().len()
    }

    pub(crate) fn list_tools(
        &self,
        codec: &CursorCodec,
        cursor: Option<&str>,
        limit: usize,
        keep: impl FnMut(&Arc<ToolEntry>) -> bool,
    ) -> Result<Page<mcp_rs_core::schema::Tool>, crate::McpError> {
        let after = cursor.map(|c| codec.decode("tools", c)).transpose()?;
        let (items, last) = page(&self.tools.load(), after.as_deref(), limit, keep, |e| {
            e.def.tool.clone()
        });
        Ok(Page {
            items,
            next_cursor: last.map(|k| codec.encode("tools", &k)),
        })
    }

    pub(crate) fn add_resource(&self, def: ResourceDef) -> Result<(), BuildError> {
        self.resources.update(|resources| {
            if let Some(existing) = resources.get(&def.resource.uri) {
                return Err(BuildError::Duplicate {
                    kind: "resource",
                    name: def.resource.uri.clone(),
                    first: loc(existing.location),
                    second: loc(def.location),
                });
            }
            resources.insert(def.resource.uri.clone(), Arc::new(def));
            Ok(())
        })
    }

    pub(crate) fn remove_resource(&self, uri: &str) -> bool {
        self.resources.remove(|r| r.remove(uri).is_some())
    }

    pub(crate) fn resource(&self, uri: &str) -> Option<Arc<ResourceDef>> {
        self.resources.load().get(uri).cloned()
    }

    pub(crate) fn resource_count(&self) -> usize {
        self.resources.load().len()
    }

    pub(crate) fn list_resources(
        &self,
        codec: &CursorCodec,
        cursor: Option<&str>,
        limit: usize,
        keep: impl FnMut(&Arc<ResourceDef>) -> bool,
    ) -> Result<Page<mcp_rs_core::schema::Resource>, crate::McpError> {
        let after = cursor.map(|c| codec.decode("resources", c)).transpose()?;
        let (items, last) = page(&self.resources.load(), after.as_deref(), limit, keep, |d| {
            d.resource.clone()
        });
        Ok(Page {
            items,
            next_cursor: last.map(|k| codec.encode("resources", &k)),
        })
    }

    pub(crate) fn add_template(&self, def: ResourceTemplateDef) -> Result<(), BuildError> {
        let template = UriTemplate::parse(&def.template.uri_template).map_err(|e| {
            BuildError::InvalidUriTemplate {
                template: def.template.uri_template.clone(),
                message: e.0,
            }
        })?;
        self.templates.update(|templates| {
            if let Some(existing) = templates.by_text.get(&def.template.uri_template) {
                return Err(BuildError::Duplicate {
                    kind: "resource template",
                    name: def.template.uri_template.clone(),
                    first: loc(existing.def.location),
                    second: loc(def.location),
                });
            }
            let entry = Arc::new(TemplateEntry { def, template });
            templates
                .by_text
                .insert(entry.def.template.uri_template.clone(), entry.clone());
            templates.match_order.push(entry);
            templates
                .match_order
                .sort_by_key(|e| std::cmp::Reverse(e.template.specificity()));
            Ok(())
        })
    }

    pub(crate) fn remove_template(&self, uri_template: &str) -> bool {
        self.templates.remove(|templates| {
            let removed = templates.by_text.remove(uri_template).is_some();
            templates
                .match_order
                .retain(|e| e.def.template.uri_template != uri_template);
            removed
        })
    }

    pub(crate) fn template(&self, uri_template: &str) -> Option<Arc<TemplateEntry>> {
        self.templates.load().by_text.get(uri_template).cloned()
    }

    pub(crate) fn template_count(&self) -> usize {
        self.templates.load().by_text.len()
    }

    /// The most specific template matching `uri`, with its variables.
    pub(crate) fn match_template(
        &self,
        uri: &str,
    ) -> Option<(Arc<TemplateEntry>, HashMap<String, String>)> {
        self.templates
            .load()
            .match_order
            .iter()
            .find_map(|e| e.template.matches(uri).map(|vars| (e.clone(), vars)))
    }

    pub(crate) fn list_templates(
        &self,
        codec: &CursorCodec,
        cursor: Option<&str>,
        limit: usize,
        keep: impl FnMut(&Arc<TemplateEntry>) -> bool,
    ) -> Result<Page<mcp_rs_core::schema::ResourceTemplate>, crate::McpError> {
        let after = cursor.map(|c| codec.decode("templates", c)).transpose()?;
        let (items, last) = page(
            &self.templates.load().by_text,
            after.as_deref(),
            limit,
            keep,
            |e| e.def.template.clone(),
        );
        Ok(Page {
            items,
            next_cursor: last.map(|k| codec.encode("templates", &k)),
        })
    }

    pub(crate) fn add_prompt(&self, def: PromptDef) -> Result<(), BuildError> {
        self.prompts.update(|prompts| {
            if let Some(existing) = prompts.get(&def.prompt.name) {
                return Err(BuildError::Duplicate {
                    kind: "prompt",
                    name: def.prompt.name.clone(),
                    first: loc(existing.location),
                    second: loc(def.location),
                });
            }
            prompts.insert(def.prompt.name.clone(), Arc::new(def));
            Ok(())
        })
    }

    pub(crate) fn remove_prompt(&self, name: &str) -> bool {
        self.prompts.remove(|p| p.remove(name).is_some())
    }

    pub(crate) fn prompt(&self, name: &str) -> Option<Arc<PromptDef>> {
        self.prompts.load().get(name).cloned()
    }

    pub(crate) fn prompt_count(&self) -> usize {
        self.prompts.load().len()
    }

    pub(crate) fn list_prompts(
        &self,
        codec: &CursorCodec,
        cursor: Option<&str>,
        limit: usize,
        keep: impl FnMut(&Arc<PromptDef>) -> bool,
    ) -> Result<Page<mcp_rs_core::schema::Prompt>, crate::McpError> {
        let after = cursor.map(|c| codec.decode("prompts", c)).transpose()?;
        let (items, last) = page(&self.prompts.load(), after.as_deref(), limit, keep, |d| {
            d.prompt.clone()
        });
        Ok(Page {
            items,
            next_cursor: last.map(|k| codec.encode("prompts", &k)),
        })
    }

    pub(crate) fn completion(
        &self,
        target: &crate::completion::CompletionTarget,
        argument: &str,
    ) -> Option<Arc<dyn CompletionProvider>> {
        read(&self.completions)
            .get(&(target.clone(), argument.to_owned()))
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_names() {
        assert!(valid_tool_name("add"));
        assert!(valid_tool_name("ns/get_user.v2-beta"));
        assert!(!valid_tool_name(""));
        assert!(!valid_tool_name("has space"));
        assert!(!valid_tool_name(&"x".repeat(65)));
    }

    #[test]
    fn paging_after_key() {
        let map: BTreeMap<String, u32> = (0..5).map(|i| (format!("k{i}"), i)).collect();
        let (items, last) = page(&map, None, 2, |_| true, |v| *v);
        assert_eq!((items, last.as_deref()), (vec![0, 1], Some("k1")));
        let (items, last) = page(&map, Some("k3"), 2, |_| true, |v| *v);
        assert_eq!((items, last), (vec![4], None));
        let (items, last) = page(&map, Some("k2"), 2, |_| true, |v| *v);
        assert_eq!(
            (items, last),
            (vec![3, 4], None),
            "an exactly full last page has no cursor"
        );
        let (items, _) = page(&map, None, 10, |v| v % 2 == 0, |v| *v);
        assert_eq!(items, vec![0, 2, 4]);
    }
}
