//! oVirt's documents as one tree, [`Elem`], with its two codecs each way: XML (the default, and
//! what `ovirtsdk4` speaks) and JSON (on `Accept: application/json`). The resource modules build
//! trees from Uplift's types and read request bodies from them; they never write XML or JSON
//! themselves. Nothing about hosts or clusters belongs here.

use quick_xml::events::{BytesEnd, BytesStart, BytesText, Event};
use serde_json::{Map, Value};

/// Where every `href` starts.
pub const BASE: &str = "/ovirt-engine/api";

/// An element: a tag, oVirt's `id`/`href` (and a link's `rel`) attributes, and either text or
/// children. A list (`<hosts>`) is an element whose children are its items.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Elem {
    pub tag: String,
    pub attrs: Vec<(&'static str, String)>,
    pub text: Option<String>,
    pub children: Vec<Elem>,
    /// A collection: its children are items, a JSON array under the item tag.
    pub list: bool,
}

impl Elem {
    pub fn new(tag: &str) -> Self {
        Elem {
            tag: tag.to_string(),
            ..Elem::default()
        }
    }

    /// An entity with its `id` and `href` (`path` is below [`BASE`], such as `hosts/ID`).
    pub fn entity(tag: &str, id: &str, path: &str) -> Self {
        Elem::new(tag)
            .attr("href", format!("{BASE}/{path}"))
            .attr("id", id)
    }

    /// A collection of items.
    pub fn list(tag: &str, items: Vec<Elem>) -> Self {
        Elem {
            tag: tag.to_string(),
            children: items,
            list: true,
            ..Elem::default()
        }
    }

    pub fn attr(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.attrs.push((name, value.into()));
        self
    }

    /// A leaf child with text.
    pub fn leaf(mut self, tag: &str, text: impl ToString) -> Self {
        let mut leaf = Elem::new(tag);
        leaf.text = Some(text.to_string());
        self.children.push(leaf);
        self
    }

    /// A leaf child when there is a value; nothing otherwise (what Uplift does not know is
    /// left out, never made up).
    pub fn maybe(self, tag: &str, text: Option<impl ToString>) -> Self {
        match text {
            Some(text) => self.leaf(tag, text),
            None => self,
        }
    }

    pub fn child(mut self, child: Elem) -> Self {
        self.children.push(child);
        self
    }

    /// `<link rel="REL" href="BASE/PATH"/>`.
    pub fn link(self, rel: &str, path: &str) -> Self {
        self.child(
            Elem::new("link")
                .attr("href", format!("{BASE}/{path}"))
                .attr("rel", rel),
        )
    }

    pub fn get(&self, tag: &str) -> Option<&Elem> {
        self.children.iter().find(|c| c.tag == tag)
    }

    /// The text of a leaf child, if there is one.
    pub fn text_of(&self, tag: &str) -> Option<&str> {
        self.get(tag).and_then(|c| c.text.as_deref())
    }

    pub fn attr_of(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The element as XML (no declaration; the SDK does not need one).
    pub fn to_xml(&self) -> String {
        let mut writer = quick_xml::Writer::new_with_indent(Vec::new(), b' ', 2);
        self.write_xml(&mut writer);
        String::from_utf8_lossy(&writer.into_inner()).into_owned()
    }

    fn write_xml(&self, writer: &mut quick_xml::Writer<Vec<u8>>) {
        let mut start = BytesStart::new(self.tag.as_str());
        for (name, value) in &self.attrs {
            start.push_attribute((*name, value.as_str()));
        }
        // Writing to a Vec cannot fail.
        if self.text.is_none() && self.children.is_empty() {
            let _ = writer.write_event(Event::Empty(start));
            return;
        }
        let _ = writer.write_event(Event::Start(start));
        if let Some(text) = &self.text {
            let _ = writer.write_event(Event::Text(BytesText::new(text)));
        }
        for child in &self.children {
            child.write_xml(writer);
        }
        let _ = writer.write_event(Event::End(BytesEnd::new(self.tag.as_str())));
    }

    /// The element as oVirt's JSON: attributes and leaves are strings, a repeated tag (links,
    /// list items) is an array under that tag.
    pub fn to_json(&self) -> Value {
        if let Some(text) = &self.text {
            return Value::String(text.clone());
        }
        let mut object = Map::new();
        for (name, value) in &self.attrs {
            object.insert((*name).to_string(), Value::String(value.clone()));
        }
        for child in &self.children {
            let value = child.to_json();
            let repeated = self.list
                || child.tag == "link"
                || self.children.iter().filter(|c| c.tag == child.tag).count() > 1;
            if repeated {
                let entry = object
                    .entry(child.tag.clone())
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(items) = entry {
                    items.push(value);
                }
            } else {
                object.insert(child.tag.clone(), value);
            }
        }
        Value::Object(object)
    }

    /// Reads an XML body; the reason when it is not well-formed XML.
    pub fn from_xml(raw: &str) -> Result<Elem, String> {
        let mut reader = quick_xml::Reader::from_str(raw);
        let mut stack: Vec<Elem> = Vec::new();
        loop {
            let event = reader
                .read_event()
                .map_err(|e| format!("The body is not well-formed XML: {e}."))?;
            match event {
                Event::Start(start) => stack.push(open(&start)?),
                Event::Empty(start) => {
                    let elem = open(&start)?;
                    if let Some(done) = close(&mut stack, elem) {
                        return Ok(done);
                    }
                }
                Event::Text(text) => {
                    let text = text
                        .unescape()
                        .map_err(|e| format!("The body's text is not valid XML: {e}."))?;
                    if let Some(top) = stack.last_mut() {
                        if !text.trim().is_empty() || top.text.is_some() {
                            top.text.get_or_insert_with(String::new).push_str(&text);
                        }
                    }
                }
                Event::CData(data) => {
                    let text = String::from_utf8_lossy(&data.into_inner()).into_owned();
                    if let Some(top) = stack.last_mut() {
                        top.text.get_or_insert_with(String::new).push_str(&text);
                    }
                }
                Event::End(_) => {
                    let elem = stack
                        .pop()
                        .ok_or("The body's XML ends an element it never began.")?;
                    if let Some(done) = close(&mut stack, elem) {
                        return Ok(done);
                    }
                }
                Event::Eof => return Err("The body holds no XML element.".to_string()),
                _ => {}
            }
        }
    }

    /// Reads a JSON body as an element named `tag` (oVirt's JSON has no root name).
    pub fn from_json(tag: &str, value: &Value) -> Result<Elem, String> {
        let Value::Object(object) = value else {
            return Err("The body must be a JSON object.".to_string());
        };
        let mut elem = Elem::new(tag);
        for (key, value) in object {
            match value {
                Value::String(text) if key == "id" || key == "href" => {
                    let name = if key == "id" { "id" } else { "href" };
                    elem.attrs.push((name, text.clone()));
                }
                Value::Object(_) => elem.children.push(Elem::from_json(key, value)?),
                Value::Array(items) => {
                    for item in items {
                        elem.children.push(match item {
                            Value::Object(_) => Elem::from_json(key, item)?,
                            other => scalar(key, other)?,
                        });
                    }
                }
                other => elem.children.push(scalar(key, other)?),
            }
        }
        Ok(elem)
    }
}

fn scalar(tag: &str, value: &Value) -> Result<Elem, String> {
    let text = match value {
        Value::String(text) => text.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Null => return Ok(Elem::new(tag)),
        _ => return Err(format!("{tag} is not a value.")),
    };
    Ok(Elem::new(tag).leaf_text(text))
}

impl Elem {
    fn leaf_text(mut self, text: String) -> Self {
        self.text = Some(text);
        self
    }
}

/// An element begun in XML, with its `id`, `href` and `rel` attributes (oVirt's only ones).
fn open(start: &BytesStart<'_>) -> Result<Elem, String> {
    let tag = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
    let mut elem = Elem::new(&tag);
    for attr in start.attributes() {
        let attr = attr.map_err(|e| format!("An attribute of <{tag}> is not valid XML: {e}."))?;
        let name = match attr.key.local_name().as_ref() {
            b"id" => "id",
            b"href" => "href",
            b"rel" => "rel",
            _ => continue,
        };
        let value = attr
            .unescape_value()
            .map_err(|e| format!("An attribute of <{tag}> is not valid XML: {e}."))?;
        elem.attrs.push((name, value.into_owned()));
    }
    Ok(elem)
}

/// Hangs a finished element under its parent; the root when there is no parent.
fn close(stack: &mut [Elem], elem: Elem) -> Option<Elem> {
    match stack.last_mut() {
        Some(parent) => {
            parent.children.push(elem);
            None
        }
        None => Some(elem),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> Elem {
        Elem::entity("host", "h-1", "hosts/h-1")
            .leaf("name", "kvm <01> & co")
            .leaf("update_available", true)
            .child(Elem::entity("cluster", "c-1", "clusters/c-1"))
            .link("nics", "hosts/h-1/nics")
    }

    #[test]
    fn xml_round_trips_and_escapes() {
        let xml = host().to_xml();
        assert!(
            xml.contains("<name>kvm &lt;01&gt; &amp; co</name>"),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<cluster href="/ovirt-engine/api/clusters/c-1" id="c-1"/>"#),
            "{xml}"
        );
        let back = Elem::from_xml(&xml).expect("our own XML");
        assert_eq!(back, host());
    }

    #[test]
    fn json_has_string_leaves_and_arrays_for_lists_and_links() {
        let list = Elem::list("hosts", vec![host()]).to_json();
        let first = &list["host"][0];
        assert_eq!(first["id"], "h-1");
        assert_eq!(first["update_available"], "true");
        assert_eq!(first["cluster"]["href"], "/ovirt-engine/api/clusters/c-1");
        assert_eq!(first["link"][0]["rel"], "nics");
        assert_eq!(Elem::list("hosts", vec![]).to_json(), serde_json::json!({}));
    }

    #[test]
    fn sdk_bodies_are_read() {
        let action = Elem::from_xml(
            "<action>\n  <force>true</force>\n  <host id=\"abc\"/>\n  <reboot>true</reboot>\n</action>",
        )
        .expect("an action");
        assert_eq!(action.text_of("reboot"), Some("true"));
        assert_eq!(
            action.get("host").and_then(|h| h.attr_of("id")),
            Some("abc")
        );
        assert_eq!(Elem::from_xml("<action/>").expect("empty").tag, "action");
        let cdata = Elem::from_xml("<host><name><![CDATA[a<b]]></name></host>").expect("cdata");
        assert_eq!(cdata.text_of("name"), Some("a<b"));
        let json = serde_json::json!({"host": {"name": "kvm-02"}, "reboot": true});
        let action = Elem::from_json("action", &json).expect("json");
        assert_eq!(
            action.get("host").and_then(|h| h.text_of("name")),
            Some("kvm-02")
        );
        assert_eq!(action.text_of("reboot"), Some("true"));
    }

    #[test]
    fn bad_xml_is_a_reason_not_a_panic() {
        for raw in [
            "",
            "<action>",
            "<a></b>",
            "<a x='1' x='2'/>",
            "plain text",
            "</a>",
        ] {
            assert!(Elem::from_xml(raw).is_err(), "{raw:?}");
        }
    }
}
