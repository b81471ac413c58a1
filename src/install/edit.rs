//! Format-preserving edits of an agent's JSON (or JSONC) config.
//!
//! The file is parsed into a concrete syntax tree (`jsonc-parser`'s CST) and only holdfast's own
//! entries are added, changed or removed in it: key order, indentation, escapes, comments and
//! trailing commas elsewhere stay exactly as the user wrote them. Gemini CLI accepts comments in
//! `settings.json`, so comments are read, never refused.

use std::path::Path;

use anyhow::{Result, bail};
use jsonc_parser::ParseOptions;
use jsonc_parser::cst::{CstArray, CstInputValue, CstNode, CstObject, CstRootNode};
use serde_json::Value;

/// A parsed config file that can be edited and printed back.
pub(crate) struct Doc {
    root: CstRootNode,
}

impl Doc {
    /// Parses `text` (empty means `{}`); anything but an object at the top is refused.
    pub fn parse(text: &str, file: &Path) -> Result<Doc> {
        let text = if text.trim().is_empty() { "{}\n" } else { text };
        let root = CstRootNode::parse(text, &ParseOptions::default()).map_err(|e| {
            anyhow::anyhow!("{} is not valid JSON ({e}); fix or move it, then run init again", file.display())
        })?;
        if root.object_value().is_none() {
            bail!("{} is not a JSON object; refusing to edit it", file.display());
        }
        Ok(Doc { root })
    }

    /// The document's value (comments dropped), for reading.
    pub fn value(&self) -> Value {
        self.root.to_serde_value().unwrap_or(Value::Null)
    }

    /// The document's text, with every untouched byte as it was.
    pub fn text(&self) -> String {
        self.root.to_string()
    }

    /// The top-level object.
    pub fn object(&self) -> CstObject {
        self.root.object_value_or_set()
    }
}

/// The object under `key` in `obj`, created when absent; refuses a value of another type.
pub(crate) fn object_at(obj: &CstObject, key: &str) -> Result<CstObject> {
    if let Some(prop) = obj.get(key)
        && prop.object_value().is_none()
    {
        bail!("`{key}` is not an object; refusing to edit it");
    }
    Ok(obj.object_value_or_set(key))
}

/// The list under `key` in `obj`, created when absent; refuses a value of another type.
pub(crate) fn array_at(obj: &CstObject, key: &str) -> Result<CstArray> {
    if let Some(prop) = obj.get(key)
        && prop.array_value().is_none()
    {
        bail!("`{key}` is not a list; refusing to edit it");
    }
    Ok(obj.array_value_or_set(key))
}

/// The decoded string at `key` of an object node, if it is a string.
pub(crate) fn string_at(node: &CstNode, key: &str) -> Option<String> {
    let prop = node.as_object()?.get(key)?;
    prop.value()?.as_string_lit()?.decoded_value().ok()
}

/// A JSON value as CST input (for new entries).
pub fn input(v: &Value) -> CstInputValue {
    match v {
        Value::Null => CstInputValue::Null,
        Value::Bool(b) => CstInputValue::Bool(*b),
        Value::Number(n) => CstInputValue::Number(n.to_string()),
        Value::String(s) => CstInputValue::String(s.clone()),
        Value::Array(a) => CstInputValue::Array(a.iter().map(input).collect()),
        Value::Object(o) => {
            let mut props: Vec<(String, CstInputValue)> = o.iter().map(|(k, v)| (k.clone(), input(v))).collect();
            props.sort_by_key(|(k, _)| KEY_ORDER.iter().position(|o| o == k).unwrap_or(KEY_ORDER.len()));
            CstInputValue::Object(props)
        }
    }
}

/// The order keys of a new hook entry are written in, as the agents' docs show them.
const KEY_ORDER: &[&str] = &["matcher", "name", "type", "command", "bash", "timeout", "timeoutSec", "env", "hooks"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edit_keeps_every_other_byte() {
        let text = "{\n    // mine\n    \"z\": \"\\u00e9\",\n    \"a\": [1,2],\n}\n";
        let doc = Doc::parse(text, Path::new("f")).unwrap();
        let list = array_at(&doc.object(), "a").unwrap();
        let added = list.append(CstInputValue::Number("3".into()));
        let edited = doc.text();
        assert!(edited.starts_with("{\n    // mine\n    \"z\": \"\\u00e9\",\n"), "{edited}");
        added.remove();
        assert_eq!(doc.text(), text);
        assert!(array_at(&doc.object(), "z").is_err());
        assert!(Doc::parse("[1]", Path::new("f")).is_err());
    }
}
