//! Small helpers shared by the printable documents (certificates, reports,
//! receipts): HTML escaping and the text of a JSON value.

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A JSON value as a document shows it: strings bare, null as `-`.
pub fn value_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "-".into(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_escaped_and_nulls_show_as_a_dash() {
        assert_eq!(
            escape("<a href=\"x\">&</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;"
        );
        assert_eq!(value_text(&serde_json::Value::Null), "-");
        assert_eq!(value_text(&serde_json::json!("札幌")), "札幌");
        assert_eq!(value_text(&serde_json::json!(3)), "3");
    }
}
