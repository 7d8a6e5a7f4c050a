//! The layer rule of `mcp-server/src`: no import circle between sibling modules.
//!
//! Every file is read with `syn`; each `crate::…`, `super::…` and `self::…` path (in `use`
//! items, in code and inside macro calls) is resolved to the file that defines it, following
//! `use` re-exports. Then, at every level of the module tree (the crate root, and each folder
//! such as `handler/`, `protocol/`, `transport/http/`), the sibling modules under that level
//! (a file, or a whole sub-folder) form a graph; a circle in any of these graphs fails the
//! test and is listed. The level's own facade (`lib.rs`, a folder's `mod.rs`) is not a node:
//! it only declares and re-exports its children.
//!
//! Test-only code (`#[cfg(test)]` items and files, `#[cfg(doctest)]` files) is left out.
//! [`ALLOWED`] names the one loop that is part of the design (see docs/ARCHITECTURE.md).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// Edges `(level, from, to)` removed before looking for circles.
///
/// `context → server`: a handler reaches the server (`RequestContext::server()`) to change
/// its registry at runtime (`add_tool`, `remove_prompt`, …), while the items the registry
/// holds take a `RequestContext`. That loop is the point of runtime registration.
const ALLOWED: &[(&str, &str, &str)] = &[("", "context", "server")];

/// A module path, e.g. `["transport", "http", "service"]`; `[]` is the crate root.
type ModPath = Vec<String>;

/// One source file: its module path and what it refers to.
struct FileInfo {
    /// `crate`-absolute paths this file names (already made absolute).
    refs: Vec<ModPath>,
    /// Names bound by `use` items in this file → the absolute path they stand for.
    bindings: HashMap<String, ModPath>,
}

/// Parsed source tree: file module path → its information.
struct Tree {
    files: BTreeMap<ModPath, FileInfo>,
}

fn module_path_of(src: &Path, file: &Path) -> ModPath {
    let rel = file.strip_prefix(src).expect("file under src");
    let mut parts: ModPath = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().expect("a file name");
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_owned());
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read src dir")
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Whether attributes hold `#[cfg(test)]` or `#[cfg(doctest)]` (alone, not in `not(...)`).
fn is_test_only(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && a.parse_args::<syn::Ident>()
                .is_ok_and(|i| i == "test" || i == "doctest")
    })
}

/// Collects paths and `use` bindings of one file, skipping test-only items.
struct Collector {
    here: ModPath,
    is_facade: bool,
    refs: Vec<ModPath>,
    bindings: HashMap<String, ModPath>,
    test_children: Vec<String>,
}

impl Collector {
    /// Makes `segments` absolute from this file's module, when it starts with
    /// `crate`, `self` or `super`.
    fn absolute(&self, segments: &[String]) -> Option<ModPath> {
        let first = segments.first()?;
        let mut base = match first.as_str() {
            "crate" => Vec::new(),
            "self" | "super" => self.here.clone(),
            _ => return None,
        };
        let mut rest = &segments[1..];
        if first == "super" {
            base.pop()?;
        }
        while rest.first().is_some_and(|s| s == "super") {
            base.pop()?;
            rest = &rest[1..];
        }
        base.extend(rest.iter().cloned());
        Some(base)
    }

    fn add_ref(&mut self, segments: &[String]) {
        if let Some(abs) = self.absolute(segments) {
            self.refs.push(abs);
        }
    }

    /// Walks a `use` tree, recording every leaf path and the name it binds.
    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.use_tree(prefix, t);
                }
            }
            syn::UseTree::Name(n) => self.bind(prefix, &n.ident.to_string(), None),
            syn::UseTree::Rename(r) => {
                self.bind(prefix, &r.ident.to_string(), Some(r.rename.to_string()));
            }
            syn::UseTree::Glob(_) => self.add_ref(prefix),
        }
    }

    fn bind(&mut self, prefix: &[String], name: &str, rename: Option<String>) {
        let mut full = prefix.to_vec();
        if name != "self" {
            full.push(name.to_owned());
        }
        // A facade's `use child::X` is relative to the facade itself.
        if self.is_facade && !full.is_empty() && !["crate", "self", "super"].contains(&&*full[0]) {
            full.insert(0, "self".to_owned());
        }
        let Some(abs) = self.absolute(&full) else {
            return;
        };
        let bound = rename.unwrap_or_else(|| full.last().cloned().unwrap_or_default());
        self.bindings.insert(bound, abs.clone());
        self.refs.push(abs);
    }

    /// Scans macro input for `crate :: a :: b` token runs.
    fn tokens(&mut self, stream: proc_macro2::TokenStream) {
        let tokens: Vec<_> = stream.into_iter().collect();
        let mut i = 0;
        while i < tokens.len() {
            if let proc_macro2::TokenTree::Group(g) = &tokens[i] {
                self.tokens(g.stream());
                i += 1;
                continue;
            }
            let (segments, next) = path_at(&tokens, i);
            if segments.len() > 1 {
                self.add_ref(&segments);
                i = next;
            } else {
                i += 1;
            }
        }
    }
}

/// Reads `ident :: ident :: …` starting at `i`; returns the segments and the next index.
fn path_at(tokens: &[proc_macro2::TokenTree], mut i: usize) -> (Vec<String>, usize) {
    use proc_macro2::TokenTree as T;
    let mut segments = Vec::new();
    while let Some(T::Ident(id)) = tokens.get(i) {
        segments.push(id.to_string());
        let colons = matches!(
            (tokens.get(i + 1), tokens.get(i + 2)),
            (Some(T::Punct(a)), Some(T::Punct(b))) if a.as_char() == ':' && b.as_char() == ':'
        );
        if !colons {
            return (segments, i + 1);
        }
        i += 3;
    }
    (segments, i.max(1))
}

impl<'ast> syn::visit::Visit<'ast> for Collector {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        let attrs: &[syn::Attribute] = match item {
            syn::Item::Mod(m) => &m.attrs,
            syn::Item::Fn(f) => &f.attrs,
            syn::Item::Impl(i) => &i.attrs,
            syn::Item::Use(u) => &u.attrs,
            syn::Item::Struct(s) => &s.attrs,
            syn::Item::Enum(e) => &e.attrs,
            syn::Item::Const(c) => &c.attrs,
            syn::Item::Static(s) => &s.attrs,
            syn::Item::Trait(t) => &t.attrs,
            _ => &[],
        };
        if is_test_only(attrs) {
            if let syn::Item::Mod(m) = item {
                self.test_children.push(m.ident.to_string());
            }
            return;
        }
        if let syn::Item::Use(u) = item {
            self.use_tree(&mut Vec::new(), &u.tree);
            return;
        }
        syn::visit::visit_item(self, item);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        if segments.len() > 1 {
            self.add_ref(&segments);
        }
        syn::visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        self.tokens(mac.tokens.clone());
        syn::visit::visit_macro(self, mac);
    }
}

impl Tree {
    fn read(src: &Path) -> Tree {
        let mut paths = Vec::new();
        rust_files(src, &mut paths);
        let mut files = BTreeMap::new();
        let mut test_only: BTreeSet<ModPath> = BTreeSet::new();
        for path in paths {
            let here = module_path_of(src, &path);
            let text = std::fs::read_to_string(&path).expect("read source file");
            let ast = syn::parse_file(&text)
                .unwrap_or_else(|e| panic!("{}: does not parse: {e}", path.display()));
            let name = path.file_name().unwrap_or_default();
            let mut c = Collector {
                here: here.clone(),
                is_facade: name == "mod.rs" || name == "lib.rs",
                refs: Vec::new(),
                bindings: HashMap::new(),
                test_children: Vec::new(),
            };
            syn::visit::Visit::visit_file(&mut c, &ast);
            for child in c.test_children {
                let mut p = here.clone();
                p.push(child);
                test_only.insert(p);
            }
            files.insert(
                here,
                FileInfo {
                    refs: c.refs,
                    bindings: c.bindings,
                },
            );
        }
        files.retain(|p, _| !test_only.iter().any(|t| p.starts_with(t)));
        Tree { files }
    }

    /// The file that defines what `path` names (following re-exports), if it is ours.
    fn resolve(&self, path: &[String], depth: usize) -> Option<ModPath> {
        let known = (0..=path.len())
            .rev()
            .find(|n| self.files.contains_key(&path[..*n]))?;
        let file = path[..known].to_vec();
        if known == path.len() || depth > 8 {
            return Some(file);
        }
        match self.files[&file].bindings.get(&path[known]) {
            Some(target) if target.as_slice() != path => {
                let mut next = target.clone();
                next.extend(path[known + 1..].iter().cloned());
                self.resolve(&next, depth + 1).or(Some(file))
            }
            _ => Some(file),
        }
    }
}

/// Module graph of one level: node → the nodes it uses.
type Graph = BTreeMap<String, BTreeSet<String>>;

/// The graph among the children of `level` (a file or folder directly under it).
fn level_graph(tree: &Tree, level: &[String]) -> Graph {
    let node_of = |m: &ModPath| -> Option<String> {
        (m.len() > level.len() && m.starts_with(level)).then(|| m[level.len()].clone())
    };
    let mut graph = Graph::new();
    for (file, info) in &tree.files {
        let Some(from) = node_of(file) else { continue };
        graph.entry(from.clone()).or_default();
        for r in &info.refs {
            let Some(target) = tree.resolve(r, 0) else {
                continue;
            };
            match node_of(&target) {
                Some(to) if to != from => {
                    graph.entry(from.clone()).or_default().insert(to);
                }
                _ => {}
            }
        }
    }
    graph
}

/// Strongly connected components with more than one node (each sorted), via Tarjan.
fn circles(graph: &Graph) -> Vec<Vec<String>> {
    struct State<'g> {
        graph: &'g Graph,
        index: HashMap<&'g str, usize>,
        low: HashMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'g>(s: &mut State<'g>, v: &'g str) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in s.graph.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(lw);
            } else if s.on_stack.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                comp.push(w.to_owned());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                s.out.push(comp);
            }
        }
    }
    let mut s = State {
        graph,
        index: HashMap::new(),
        low: HashMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in graph.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.out.sort();
    s.out
}

/// Describes each circle with the edges that close it, e.g. `a → b, b → a`.
fn describe(graph: &Graph, circle: &[String]) -> String {
    let inside: BTreeSet<&String> = circle.iter().collect();
    let mut edges = Vec::new();
    for from in circle {
        for to in graph.get(from).into_iter().flatten() {
            if inside.contains(to) {
                edges.push(format!("{from} → {to}"));
            }
        }
    }
    format!("[{}]: {}", circle.join(", "), edges.join(", "))
}

fn src_tree() -> Tree {
    Tree::read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"))
}

/// Every level (the root and each folder module), as module paths.
fn levels(tree: &Tree) -> BTreeSet<ModPath> {
    let mut out = BTreeSet::new();
    for file in tree.files.keys() {
        for n in 0..file.len() {
            out.insert(file[..n].to_vec());
        }
    }
    out
}

/// Removes the allowed edges of `level`, failing when one no longer exists (so the list
/// cannot go stale).
fn remove_allowed(graph: &mut Graph, level: &str) -> Vec<String> {
    let mut stale = Vec::new();
    for (l, from, to) in ALLOWED.iter().filter(|(l, ..)| *l == level) {
        let removed = graph.get_mut(*from).is_some_and(|s| s.remove(*to));
        if !removed {
            stale.push(format!(
                "allowed edge {l:?}: {from} → {to} no longer exists"
            ));
        }
    }
    stale
}

fn check_level(tree: &Tree, level: &[String]) -> Vec<String> {
    let name = level.join("/");
    let mut graph = level_graph(tree, level);
    let mut problems = remove_allowed(&mut graph, &name);
    for c in circles(&graph) {
        let at = if name.is_empty() { "src/" } else { &name };
        problems.push(format!("circle in {at}: {}", describe(&graph, &c)));
    }
    problems
}

#[test]
fn no_import_circle_between_top_level_modules() {
    let tree = src_tree();
    let problems = check_level(&tree, &[]);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn no_import_circle_inside_any_folder() {
    let tree = src_tree();
    let mut problems = Vec::new();
    for level in levels(&tree).into_iter().filter(|l| !l.is_empty()) {
        problems.extend(check_level(&tree, &level));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_reader_sees_the_core_edges() {
    // Guards the checker itself: if the reader stopped seeing paths, every graph would be
    // empty and the tests above could not fail.
    let tree = src_tree();
    let graph = level_graph(&tree, &[]);
    let uses = |a: &str, b: &str| graph.get(a).is_some_and(|s| s.contains(b));
    assert!(uses("dispatch", "handler"), "{graph:?}");
    assert!(uses("handler", "server"), "{graph:?}");
    assert!(uses("registry", "tool"), "{graph:?}");
    assert!(uses("context", "server"), "{graph:?}");
    assert!(uses("transport", "server"), "{graph:?}");
}

fn fake(edges: &[(&str, &str)]) -> Graph {
    let mut g = Graph::new();
    for (a, b) in edges {
        g.entry((*a).to_owned())
            .or_default()
            .insert((*b).to_owned());
        g.entry((*b).to_owned()).or_default();
    }
    g
}

#[test]
fn circle_finder_on_a_small_graph() {
    let acyclic = fake(&[("a", "b"), ("b", "c"), ("a", "c")]);
    assert!(circles(&acyclic).is_empty());

    let g = fake(&[
        ("a", "b"),
        ("b", "c"),
        ("c", "a"),
        ("c", "d"),
        ("d", "e"),
        ("e", "d"),
    ]);
    let found = circles(&g);
    assert_eq!(found, vec![vec!["a", "b", "c"], vec!["d", "e"]]);
    assert_eq!(describe(&g, &found[1]), "[d, e]: d → e, e → d");

    let mut allowed = fake(&[("context", "server"), ("server", "context")]);
    assert_eq!(circles(&allowed).len(), 1);
    assert!(remove_allowed(&mut allowed, "").is_empty());
    assert!(circles(&allowed).is_empty());
    assert_eq!(remove_allowed(&mut fake(&[]), "").len(), ALLOWED.len());
}
