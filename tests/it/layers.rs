//! The library's layering, checked on the source: every crate-internal import in `src/` points
//! to the same or a lower layer of the table in docs/architecture.md (the test parses that
//! table, so the doc and the test cannot drift), and the top-level modules import each other
//! without a cycle.
//!
//! An import is a `crate::<module>` path anywhere in code (a `use`, a qualified path, a
//! `crate::{a, b}` group) or a `super::` path that climbs to the crate root; comments (doc
//! comments included) and string literals do not count. The binary (`src/main.rs` and the
//! modules it declares) sits on the top layer and is not scanned: its `crate::` is the binary.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The document whose layer table is the rule.
const DOC: &str = "docs/architecture.md";

/// Known violations still to fix, one `file: import` or `cycle: a, b` a line. The list only
/// shrinks: an entry that is no longer a violation fails the test until it is removed.
const ALLOWED: &str = "tests/it/layers_allowed.txt";

/// One layer of the table.
#[derive(Debug, Clone)]
struct Layer {
    rank: u32,
    name: String,
}

/// The table: each module's layer.
type Table = BTreeMap<String, Layer>;

/// One crate-internal import found in the source.
#[derive(Debug, Clone)]
struct Import {
    file: String,
    line: usize,
    from: String,
    to: String,
    path: String,
}

/// Parses the rows `| rank | name | `module`, `module` | ... |` of the layer table.
fn parse_table(doc: &str) -> Table {
    let mut table = Table::new();
    for row in doc.lines().map(str::trim).filter(|l| l.starts_with('|')) {
        let cells: Vec<&str> = row.trim_matches('|').split('|').map(str::trim).collect();
        let (Some(rank), Some(name), Some(modules)) = (cells.first(), cells.get(1), cells.get(2))
        else {
            continue;
        };
        let Ok(rank) = rank.parse::<u32>() else {
            continue;
        };
        for module in modules.split('`').skip(1).step_by(2) {
            let layer = Layer {
                rank,
                name: name.to_string(),
            };
            if let Some(old) = table.insert(module.to_string(), layer) {
                panic!(
                    "{DOC}: module `{module}` is listed twice (layers {} and {rank})",
                    old.rank
                );
            }
        }
    }
    table
}

/// The code of a Rust file with comments, string and char literals blanked out (newlines kept,
/// so that byte offsets keep their line numbers).
pub(crate) fn blank(src: &str) -> String {
    let c: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let keep = |ch: char| if ch == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    while i < c.len() {
        let at = |k: usize| c.get(i + k).copied().unwrap_or('\0');
        if at(0) == '/' && at(1) == '/' {
            while i < c.len() && c[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if at(0) == '/' && at(1) == '*' {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(keep(c[i]));
                    i += 1;
                }
            }
        } else if at(0) == 'r'
            && (at(1) == '"' || (at(1) == '#' && matches!(at(2), '"' | '#')))
            && !(i > 0 && (c[i - 1].is_alphanumeric() || c[i - 1] == '_'))
        {
            // Raw string r#"..."#: ends at a quote followed by as many hashes.
            let mut j = i + 1;
            let mut hashes = 0;
            while c.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            j += 1; // the opening quote
            while j < c.len() {
                if c[j] == '"' && (0..hashes).all(|h| c.get(j + 1 + h) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            while i < j.min(c.len()) {
                out.push(keep(c[i]));
                i += 1;
            }
        } else if at(0) == '"' {
            out.push(' ');
            i += 1;
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < c.len() {
                    out.push(keep(c[i]));
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else if at(0) == '\'' && (at(1) == '\\' || at(2) == '\'') {
            // A char literal ('x', '\n', '\u{..}'); a lifetime ('a) has no closing quote here.
            out.push(' ');
            i += 1;
            while i < c.len() && c[i] != '\'' {
                if c[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                out.push(' ');
                i += 1;
            }
            out.push(' ');
            i += 1;
        } else {
            out.push(at(0));
            i += 1;
        }
    }
    out
}

/// A token of blanked code: an identifier or one punctuation character, with its line.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Tok {
    pub(crate) text: String,
    pub(crate) line: usize,
}

/// The tokens of blanked code, each with its line.
pub(crate) fn tokens(code: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut line = 1;
    let mut chars = code.chars().peekable();
    while let Some(ch) = chars.next() {
        if ch == '\n' {
            line += 1;
        } else if ch.is_alphanumeric() || ch == '_' || ch == '$' {
            let mut text = ch.to_string();
            while let Some(&n) = chars.peek() {
                if !(n.is_alphanumeric() || n == '_') {
                    break;
                }
                text.push(n);
                chars.next();
            }
            out.push(Tok { text, line });
        } else if ch == ':' && chars.peek() == Some(&':') {
            chars.next();
            out.push(Tok {
                text: "::".into(),
                line,
            });
        } else if !ch.is_whitespace() {
            out.push(Tok {
                text: ch.to_string(),
                line,
            });
        }
    }
    out
}

fn is_ident(t: &str) -> bool {
    t.chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
}

/// The paths a path or use tree at `toks[i]` names (one per leaf of a `{a::x, b}` group), each
/// as absolute module segments below `base`, with the line of its first segment and its text.
fn expand(
    toks: &[Tok],
    i: usize,
    base: &[String],
    text: &str,
) -> Vec<(Vec<String>, usize, String)> {
    let mut out = Vec::new();
    let Some(t) = toks.get(i) else {
        return out;
    };
    if t.text == "{" {
        let (mut depth, mut k, mut item) = (0usize, i, true);
        while let Some(t) = toks.get(k) {
            match t.text.as_str() {
                "{" => {
                    depth += 1;
                    item = depth == 1;
                }
                "}" => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                "," if depth == 1 => item = true,
                _ if depth == 1 && item => {
                    out.extend(expand(toks, k, base, text));
                    item = false;
                }
                _ => {}
            }
            k += 1;
        }
    } else if t.text == "self" || t.text == "*" {
        out.push((
            base.to_vec(),
            t.line,
            text.trim_end_matches("::").to_string(),
        ));
    } else if is_ident(&t.text) {
        let mut here = base.to_vec();
        here.push(t.text.clone());
        let text = format!("{text}{}", t.text);
        if toks.get(i + 1).is_some_and(|n| n.text == "::") {
            let mut deeper = expand(toks, i + 2, &here, &format!("{text}::"));
            for d in &mut deeper {
                d.1 = d.1.min(t.line);
            }
            if deeper.is_empty() {
                out.push((here, t.line, text));
            } else {
                out.extend(deeper);
            }
        } else {
            out.push((here, t.line, text));
        }
    }
    out
}

/// The unit of a module path: its longest prefix in the table (`report::terminal` before
/// `report`).
fn unit_of(table: &Table, path: &[String]) -> Option<String> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].join("::"))
        .find(|u| table.contains_key(u))
}

/// The crate-internal paths of one library file: `crate::` paths, `super::` and `self::` paths,
/// and paths through the file's own child modules, each resolved to absolute module segments.
fn paths_of(file: &str, module_path: &[String], src: &str) -> Vec<Import> {
    let toks = tokens(&blank(src));
    let children: BTreeSet<&str> = toks
        .windows(3)
        .filter(|w| w[0].text == "mod" && is_ident(&w[1].text) && w[2].text == ";")
        .map(|w| w[1].text.as_str())
        .collect();
    let mut out = Vec::new();
    // Inline `mod name { .. }` blocks deepen the module path.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < toks.len() {
        let t = toks[i].text.as_str();
        let starts = i == 0 || !matches!(toks[i - 1].text.as_str(), "::" | "." | "$");
        let next = |k: usize| toks.get(i + k).map(|t| t.text.as_str());
        let here: Vec<String> = module_path
            .iter()
            .cloned()
            .chain(inline.iter().map(|(m, _)| m.clone()))
            .collect();
        let mut found = Vec::new();
        if t == "{" {
            depth += 1;
        } else if t == "}" {
            depth = depth.saturating_sub(1);
            while inline.last().is_some_and(|(_, d)| *d > depth) {
                inline.pop();
            }
        } else if t == "mod" && next(1).is_some_and(is_ident) && next(2) == Some("{") {
            inline.push((toks[i + 1].text.clone(), depth + 1));
        } else if starts && next(1) == Some("::") && (t == "crate" || t == "self") {
            let base = if t == "crate" {
                Vec::new()
            } else {
                here.clone()
            };
            found = expand(&toks, i + 2, &base, &format!("{t}::"));
        } else if starts && next(1) == Some("::") && t == "super" {
            let mut k = i;
            while toks.get(k).is_some_and(|t| t.text == "super")
                && toks.get(k + 1).is_some_and(|t| t.text == "::")
            {
                k += 2;
            }
            let ups = (k - i) / 2;
            let base = here[..here.len().saturating_sub(ups)].to_vec();
            found = expand(&toks, k, &base, &"super::".repeat(ups));
        } else if starts && next(1) == Some("::") && inline.is_empty() && children.contains(t) {
            found = expand(&toks, i, &here, "");
        }
        if found.is_empty() {
            i += 1;
            continue;
        }
        for (path, line, text) in found {
            out.push(Import {
                file: file.to_string(),
                line,
                from: here.join("::"),
                to: path.join("::"),
                path: text,
            });
        }
        i = path_end(&toks, i);
    }
    out
}

/// The index just after the path or use tree starting at `toks[k]`.
fn path_end(toks: &[Tok], mut k: usize) -> usize {
    loop {
        match toks.get(k).map(|t| t.text.as_str()) {
            Some("{") => {
                let mut depth = 0;
                while let Some(t) = toks.get(k) {
                    if t.text == "{" {
                        depth += 1;
                    } else if t.text == "}" {
                        depth -= 1;
                        if depth == 0 {
                            return k + 1;
                        }
                    }
                    k += 1;
                }
                return k;
            }
            Some("*") => return k + 1,
            Some(s) if is_ident(s) => {
                if toks.get(k + 1).is_some_and(|t| t.text == "::") {
                    k += 2;
                } else {
                    return k + 1;
                }
            }
            _ => return k,
        }
    }
}

/// The module path of a file under `src/` (`source/bigquery/sql.rs` → source, bigquery, sql).
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap_or_default();
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" {
        parts.push(stem.to_string());
    }
    parts
}

/// Every `.rs` file under `dir`, sorted.
pub(crate) fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The modules `src/lib.rs` declares.
fn lib_modules(lib: &str) -> BTreeSet<String> {
    let toks = tokens(&blank(lib));
    toks.windows(3)
        .filter(|w| w[0].text == "mod" && is_ident(&w[1].text) && w[2].text == ";")
        .map(|w| w[1].text.clone())
        .collect()
}

/// Strongly connected components of more than one module (Tarjan), each sorted.
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in s.graph.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if s.on_stack.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut scc = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                scc.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if scc.len() > 1 {
                scc.sort();
                s.out.push(scc);
            }
        }
    }
    let mut s = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
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

/// One shortest cycle through the first module of a component (breadth-first, inside it).
fn one_cycle(graph: &BTreeMap<String, BTreeSet<String>>, scc: &[String]) -> Vec<String> {
    let inside: BTreeSet<&str> = scc.iter().map(String::as_str).collect();
    let start = scc[0].as_str();
    let mut prev: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(v) = queue.pop_front() {
        for w in graph.get(v).into_iter().flatten().map(String::as_str) {
            if !inside.contains(w) {
                continue;
            }
            if w == start {
                let mut path = vec![v.to_string()];
                let mut at = v;
                while at != start {
                    at = prev[at];
                    path.push(at.to_string());
                }
                path.reverse();
                path.push(start.to_string());
                return path;
            }
            if !prev.contains_key(w) && w != start {
                prev.insert(w, v);
                queue.push_back(w);
            }
        }
    }
    scc.to_vec()
}

/// The verdict on a set of imports: upward imports and cycles, as messages.
struct Verdict {
    upward: Vec<String>,
    cycles: Vec<String>,
    unknown: Vec<String>,
    /// Importing-imported module pairs.
    pairs: usize,
    /// Strongly connected components (of more than one module) of the whole graph.
    components: usize,
    /// The entries of the allow-list that matched.
    tolerated: BTreeSet<String>,
}

fn judge(table: &Table, imports: &[Import], allowed: &BTreeSet<String>) -> Verdict {
    let mut v = Verdict {
        upward: Vec::new(),
        cycles: Vec::new(),
        unknown: Vec::new(),
        pairs: 0,
        components: 0,
        tolerated: BTreeSet::new(),
    };
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut first: BTreeMap<(String, String), &Import> = BTreeMap::new();
    for i in imports {
        let split = |p: &str| -> Vec<String> { p.split("::").map(String::from).collect() };
        let (from, to) = (
            unit_of(table, &split(&i.from)),
            unit_of(table, &split(&i.to)),
        );
        let (Some(from), Some(to)) = (from, to) else {
            v.unknown.push(format!(
                "{}:{}: `{}`: `{}` is in no module of the layer table of {DOC}",
                i.file,
                i.line,
                i.path,
                if unit_of(table, &split(&i.from)).is_some() {
                    &i.to
                } else {
                    &i.from
                }
            ));
            continue;
        };
        if from == to {
            continue;
        }
        let (lf, lt) = (&table[&from], &table[&to]);
        let key = format!("{}: {}", i.file, i.path);
        if lt.rank > lf.rank && allowed.contains(&key) {
            v.tolerated.insert(key);
        } else if lt.rank > lf.rank {
            v.upward.push(format!(
                "{}:{}: `{}`: {from} (layer {} {}) imports {to} (layer {} {}), a higher layer",
                i.file, i.line, i.path, lf.rank, lf.name, lt.rank, lt.name
            ));
        }
        graph.entry(from.clone()).or_default().insert(to.clone());
        first.entry((from, to)).or_insert(i);
    }
    v.pairs = graph.values().map(BTreeSet::len).sum();
    v.components = cycles(&graph).len();
    // Cycles are looked for without the upward imports (each of those is reported already, and
    // once there is none this is the whole graph): each cycle left needs a fix of its own.
    let level: BTreeMap<String, BTreeSet<String>> = graph
        .iter()
        .map(|(f, ts)| {
            let keep = ts
                .iter()
                .filter(|t| table[*t].rank <= table[f].rank)
                .cloned();
            (f.clone(), keep.collect())
        })
        .collect();
    // A cycle inside one top-level module (between `report::terminal` and `report::view`) is
    // that module's own business.
    let top = |u: &String| u.split("::").next().unwrap_or_default().to_string();
    for scc in cycles(&level) {
        if scc.iter().map(top).collect::<BTreeSet<_>>().len() == 1 {
            continue;
        }
        let key = format!("cycle: {}", scc.join(", "));
        if allowed.contains(&key) {
            v.tolerated.insert(key);
            continue;
        }
        let graph = &level;
        let path = one_cycle(graph, &scc);
        let edges: Vec<String> = path
            .windows(2)
            .map(|w| {
                let i = first[&(w[0].clone(), w[1].clone())];
                format!(
                    "  {} -> {} at {}:{}: `{}`",
                    w[0], w[1], i.file, i.line, i.path
                )
            })
            .collect();
        v.cycles.push(format!(
            "cycle among {{{}}}, e.g. {}:\n{}",
            scc.join(", "),
            path.join(" -> "),
            edges.join("\n")
        ));
    }
    v
}

/// Every crate-internal import of the library under `root/src`.
fn scan(root: &Path) -> (BTreeSet<String>, Vec<Import>) {
    let src = root.join("src");
    let lib = lib_modules(&fs::read_to_string(src.join("lib.rs")).unwrap());
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut imports = Vec::new();
    for f in files {
        let rel = f.strip_prefix(&src).unwrap();
        let path = module_path(rel);
        // lib.rs is the root; anything lib.rs does not declare is the binary's.
        if path.is_empty() || path[0] == "lib" || !lib.contains(&path[0]) {
            continue;
        }
        let text = fs::read_to_string(&f).unwrap();
        let shown = format!("src/{}", rel.display());
        imports.extend(paths_of(&shown, &path, &text));
    }
    (lib, imports)
}

#[test]
fn imports_follow_the_documented_layers_without_cycles() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = fs::read_to_string(root.join(DOC)).unwrap();
    let table = parse_table(&doc);
    assert!(table.len() > 5, "{DOC}: no layer table found");
    let (lib, imports) = scan(root);
    let mut problems: Vec<String> = lib
        .iter()
        .filter(|m| !table.contains_key(*m))
        .map(|m| format!("src/lib.rs: module `{m}` is not in the layer table of {DOC}: add it"))
        .collect();
    let binary_rank = table.get("main").map(|l| l.rank);
    let exists = |m: &str| {
        let rel = m.replace("::", "/");
        let src = root.join("src");
        src.join(format!("{rel}.rs")).is_file() || src.join(&rel).join("mod.rs").is_file()
    };
    problems.extend(
        table
            .iter()
            .filter(|(m, l)| Some(l.rank) != binary_rank && !lib.contains(*m))
            .filter(|(m, _)| !(m.contains("::") && exists(m)))
            .map(|(m, _)| format!("{DOC}: `{m}` is in the table but src/ has no such module")),
    );
    let allowed: BTreeSet<String> = fs::read_to_string(root.join(ALLOWED))
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect();
    let v = judge(&table, &imports, &allowed);
    problems.extend(
        allowed
            .difference(&v.tolerated)
            .map(|a| format!("{ALLOWED}: `{a}` is no longer a violation: remove it from the list")),
    );
    problems.extend(v.unknown);
    let (up, cyc, comp) = (v.upward.len(), v.cycles.len(), v.components);
    problems.extend(v.upward);
    problems.extend(v.cycles);
    assert!(
        problems.is_empty(),
        "{} problems: {up} imports to a higher layer, {comp} strongly connected components of modules \
         ({cyc} of them left without the upward imports, listed last), in {} crate-internal \
         imports between {} module pairs; see {DOC}:\n{}",
        problems.len(),
        imports.len(),
        v.pairs,
        problems.join("\n")
    );
}

/// The checker itself: on a small made-up crate it finds the upward import (one through
/// `super::`, one through a child module of a lower unit), the group import and the cycle, and
/// ignores comments, strings and char literals.
#[test]
fn the_checker_finds_upward_imports_and_cycles() {
    let table = parse_table(
        "| Layer | Name | Modules |\n|---:|---|---|\n| 0 | base | `types` |\n\
         | 1 | core | `core`, `flags` |\n| 2 | store | `store`, `report` |\n\
         | 3 | output | `report::terminal` |\n",
    );
    assert_eq!(table["flags"].rank, 1);
    let files = [
        (
            "src/core/mod.rs",
            vec!["core"],
            "//! see [`crate::store`]\nuse crate::types::Week;\nlet s = \"crate::store\";\n\
             fn f() -> crate::flags::Flag { todo!() }\n",
        ),
        (
            "src/flags.rs",
            vec!["flags"],
            "use crate::{types::Week, core::X};\nmod tests {\n    use super::*;\n}\n\
             fn g(w: &super::store::StoredWeek) {}\nconst C: char = '\"'; fn h<'a>(x: &'a str) {}\n",
        ),
        ("src/store.rs", vec!["store"], "use crate::core;\n"),
        ("src/core/hold.rs", vec!["core", "hold"], "use super::super::types::Week;\n"),
        (
            "src/report/mod.rs",
            vec!["report"],
            "pub mod terminal;\nuse crate::{store::{self, W}, types::*};\n\
             fn r() { terminal::render() }\n",
        ),
        ("src/report/terminal.rs", vec!["report", "terminal"], "use super::Report;\n"),
    ];
    let mut imports = Vec::new();
    for (file, path, text) in files {
        let path: Vec<String> = path.into_iter().map(String::from).collect();
        imports.extend(paths_of(file, &path, text));
    }
    let found: Vec<String> = imports
        .iter()
        .map(|i| format!("{}:{} {} = {}", i.file, i.line, i.path, i.to))
        .collect();
    assert_eq!(
        found,
        [
            "src/core/mod.rs:2 crate::types::Week = types::Week",
            "src/core/mod.rs:4 crate::flags::Flag = flags::Flag",
            "src/flags.rs:1 crate::types::Week = types::Week",
            "src/flags.rs:1 crate::core::X = core::X",
            "src/flags.rs:3 super = flags",
            "src/flags.rs:5 super::store::StoredWeek = store::StoredWeek",
            "src/store.rs:1 crate::core = core",
            "src/core/hold.rs:1 super::super::types::Week = types::Week",
            "src/report/mod.rs:2 crate::store = store",
            "src/report/mod.rs:2 crate::store::W = store::W",
            "src/report/mod.rs:2 crate::types = types",
            "src/report/mod.rs:3 terminal::render = report::terminal::render",
            "src/report/terminal.rs:1 super::Report = report::Report",
        ]
    );
    let v = judge(&table, &imports, &BTreeSet::new());
    assert!(v.unknown.is_empty(), "{:?}", v.unknown);
    assert_eq!(v.upward.len(), 2, "{:?}", v.upward);
    assert!(
        v.upward[0].starts_with("src/flags.rs:5: `super::store::StoredWeek`: flags (layer 1 core)"),
        "{}",
        v.upward[0]
    );
    assert!(
        v.upward[1].starts_with(
            "src/report/mod.rs:3: `terminal::render`: report (layer 2 store) \
             imports report::terminal (layer 3 output)"
        ),
        "{}",
        v.upward[1]
    );
    assert_eq!(v.components, 2, "{:?}", v.cycles);
    // Without the upward imports: the same-layer cycle core <-> flags is left; the one inside
    // `report` is report's own business.
    assert_eq!(v.cycles.len(), 1, "{:?}", v.cycles);
    assert!(
        v.cycles[0].starts_with("cycle among {core, flags}, e.g. core -> flags -> core"),
        "{}",
        v.cycles[0]
    );
    // The allow-list tolerates exactly what it lists.
    let allowed = BTreeSet::from([
        "src/flags.rs: super::store::StoredWeek".to_string(),
        "cycle: core, flags".to_string(),
    ]);
    let v = judge(&table, &imports, &allowed);
    assert_eq!(
        (v.upward.len(), v.cycles.len(), v.tolerated.len()),
        (1, 0, 2)
    );
}
