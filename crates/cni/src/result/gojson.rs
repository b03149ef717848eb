//! JSON bytes exactly as Go's `encoding/json` writes them.
//!
//! A Go plugin prints its result with `json.MarshalIndent(r, "", "    ")`; printing the same
//! bytes lets a runtime, a test or a person diff our output against the reference plugins'.
//! Beyond the layout, Go differs from serde_json only in string escaping: it escapes `<`, `>`
//! and `&` (for embedding in HTML) and U+2028/U+2029 (for JavaScript), and writes backspace and
//! form feed as `\u0008` and `\u000c` rather than `\b` and `\f`.

use std::io;

use serde::Serialize;
use serde_json::ser::{CharEscape, CompactFormatter, Formatter, PrettyFormatter};
use serde_json::Value;

/// A formatter that delegates layout and escapes strings as Go does.
struct GoEscapes<F>(F);

impl<F: Formatter> Formatter for GoEscapes<F> {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            let escape = match c {
                '<' => "\\u003c",
                '>' => "\\u003e",
                '&' => "\\u0026",
                '\u{2028}' => "\\u2028",
                '\u{2029}' => "\\u2029",
                _ => continue,
            };
            w.write_all(fragment.get(start..i).unwrap_or_default().as_bytes())?;
            w.write_all(escape.as_bytes())?;
            start = i + c.len_utf8();
        }
        w.write_all(fragment.get(start..).unwrap_or_default().as_bytes())
    }

    fn write_char_escape<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        escape: CharEscape,
    ) -> io::Result<()> {
        match escape {
            CharEscape::Backspace => w.write_all(b"\\u0008"),
            CharEscape::FormFeed => w.write_all(b"\\u000c"),
            other => CompactFormatter.write_char_escape(w, other),
        }
    }

    // Layout is the wrapped formatter's; every structural call is passed through.
    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W, f: bool) -> io::Result<()> {
        self.0.begin_array_value(w, f)
    }
    fn end_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + io::Write>(&mut self, w: &mut W, f: bool) -> io::Result<()> {
        self.0.begin_object_key(w, f)
    }
    fn end_object_key<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_key(w)
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_value(w)
    }
}

fn write<F: Formatter>(value: &Value, formatter: F) -> Vec<u8> {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, GoEscapes(formatter));
    // Serializing a Value into a Vec cannot fail: there is no I/O error and every key is a
    // string. Should it ever, the partial output is still returned rather than a panic.
    let _ = value.serialize(&mut ser);
    out
}

/// `value` as Go's `json.MarshalIndent(value, "", "    ")` writes it (no trailing newline).
pub fn to_go_pretty(value: &Value) -> Vec<u8> {
    write(value, PrettyFormatter::with_indent(b"    "))
}

/// `value` as Go's `json.Marshal` writes it.
pub fn to_go_compact(value: &Value) -> Vec<u8> {
    write(value, CompactFormatter)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn escapes_like_go() {
        let v = json!({"s": "a<b>&c\u{2028}\u{2029}\u{8}\u{c}\n\t\"\\\u{1}\u{7f}é"});
        assert_eq!(
            String::from_utf8(to_go_compact(&v)).unwrap(),
            r#"{"s":"a\u003cb\u003e\u0026c\u2028\u2029\u0008\u000c\n\t\"\\\u0001"#.to_owned()
                + "\u{7f}é\"}"
        );
    }

    #[test]
    fn indents_like_go() {
        let v = json!({"a": [1, {"b": []}], "c": {}});
        assert_eq!(
            String::from_utf8(to_go_pretty(&v)).unwrap(),
            "{\n    \"a\": [\n        1,\n        {\n            \"b\": []\n        }\n    ],\n    \"c\": {}\n}"
        );
    }
}
