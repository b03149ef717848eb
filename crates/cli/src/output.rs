//! Writing to stdout: aligned tables for people, JSON for scripts. Everything goes through a
//! locked handle, and a closed pipe (`twill ls | head`) ends the output quietly.

use std::io::{self, Write};

use serde_json::Value;

/// Writes `text` to stdout. A reader that went away is not an error.
pub fn print(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Writes `value` as indented JSON and a newline.
pub fn print_json(value: &Value) -> io::Result<()> {
    print(&format!("{}\n", pretty(value, b"  ")))
}

/// `value` indented with `indent`.
pub fn pretty(value: &Value, indent: &[u8]) -> String {
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(indent);
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    // Serialising a `Value` into memory cannot fail; the fallback keeps the output valid JSON.
    match serde::Serialize::serialize(value, &mut ser) {
        Ok(()) => String::from_utf8_lossy(&buf).into_owned(),
        Err(_) => value.to_string(),
    }
}

/// Sets `key` in a JSON object (nothing happens to a non-object, which none of the callers
/// pass: they build objects with `json!`).
pub fn set(v: &mut Value, key: &str, val: impl Into<Value>) {
    if let Some(m) = v.as_object_mut() {
        m.insert(key.to_owned(), val.into());
    }
}

/// A table with a header row, columns padded to their widest cell.
#[derive(Debug)]
pub struct Table {
    headers: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers.
    pub fn new(headers: &[&'static str]) -> Table {
        Table {
            headers: headers.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Adds a row (missing cells are empty, extra ones dropped).
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table as text: two spaces between columns, no trailing spaces.
    pub fn render(&self) -> String {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        let headers: Vec<String> = self.headers.iter().map(|h| (*h).to_owned()).collect();
        for row in std::iter::once(&headers).chain(&self.rows) {
            let mut line = String::new();
            for (i, w) in widths.iter().enumerate() {
                let cell = row.get(i).map_or("", String::as_str);
                if i > 0 {
                    line.push_str("  ");
                }
                line.push_str(cell);
                line.extend(std::iter::repeat(' ').take(w.saturating_sub(cell.chars().count())));
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_and_lines_have_no_trailing_space() {
        let mut t = Table::new(&["NAME", "VERSION", "FILE"]);
        t.row(vec!["a".into(), "1.0.0".into(), "/x/a.conflist".into()]);
        t.row(vec!["longer-name".into(), "0.4.0".into(), String::new()]);
        assert_eq!(
            t.render(),
            "NAME         VERSION  FILE\n\
             a            1.0.0    /x/a.conflist\n\
             longer-name  0.4.0\n"
        );
    }

    #[test]
    fn pretty_uses_the_indent() {
        let v = serde_json::json!({"a": [1]});
        assert_eq!(pretty(&v, b"    "), "{\n    \"a\": [\n        1\n    ]\n}");
    }
}
