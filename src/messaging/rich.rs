//! Structured content (`RichContentEvent`): typed builders for the common
//! elements ([`Element`], [`Action`], [`QuickReplies`]), the whole message
//! ([`RichContent`], with a raw [`serde_json::Value`] escape hatch), and the
//! check of content against LivePerson's JSON schema (`ms/RichContent.json`,
//! `ms/richContent/*.json`) and the Rich Messaging pages, which both the
//! client (before sending) and the emulator (on SEND) use.

use serde_json::{Map, Value, json};

/// A `RichContentEvent` to send with
/// [`OpenConversation::send_rich_content`](super::OpenConversation::send_rich_content):
/// one structured content element (usually a card: a
/// [`vertical`](Element::vertical) layout) and optional quick replies.
///
/// ```
/// use liveperson_ccs::messaging::{Action, Element, QuickReplies, RichContent};
///
/// let card = RichContent::new(Element::vertical([
///     Element::image("https://shop.example.org/img/order-4711.png").caption("Order 4711"),
///     Element::text("My order 4711 has not arrived").bold(),
///     Element::button("Track it").action(Action::link("https://shop.example.org/track/4711")),
/// ]))
/// .quick_replies(
///     QuickReplies::new(2)
///         .reply("Refund", "I want a refund")
///         .reply("Wait", "I will wait"),
/// );
/// assert_eq!(card.content()["elements"][2]["click"]["actions"][0]["type"], "link");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct RichContent {
    content: Value,
    quick_replies: Option<Value>,
}

impl RichContent {
    /// The content `element`, without quick replies.
    pub fn new(element: Element) -> RichContent {
        RichContent {
            content: element.0,
            quick_replies: None,
        }
    }

    /// Content given as JSON, for what the builders do not cover (a
    /// template's `tag`, element `metadata`, styles). It is sent as given,
    /// after the same check as built content.
    pub fn raw(content: Value) -> RichContent {
        RichContent {
            content,
            quick_replies: None,
        }
    }

    /// Adds quick replies under the content.
    pub fn quick_replies(mut self, quick_replies: QuickReplies) -> RichContent {
        self.quick_replies = Some(quick_replies.0);
        self
    }

    /// The content as it will be sent (the event's `content`).
    pub fn content(&self) -> &Value {
        &self.content
    }

    /// The quick replies as they will be sent (the event's `quickReplies`).
    pub fn quick_replies_json(&self) -> Option<&Value> {
        self.quick_replies.as_ref()
    }

    pub(crate) fn into_parts(self) -> (Value, Option<Value>) {
        (self.content, self.quick_replies)
    }
}

impl From<Element> for RichContent {
    fn from(element: Element) -> RichContent {
        RichContent::new(element)
    }
}

/// One structured content element: a basic element (text, image, button,
/// map) or a layout of elements (vertical, horizontal, carousel).
///
/// The modifiers set a member whatever the element; the check before
/// sending refuses what LivePerson's schema refuses (a missing or too long
/// member, an unknown type), naming its JSON pointer.
#[derive(Clone, Debug, PartialEq)]
pub struct Element(Value);

impl Element {
    fn basic(kind: &str, member: &str, value: impl Into<String>) -> Element {
        let mut map = Map::new();
        map.insert("type".into(), Value::from(kind));
        map.insert(member.into(), Value::from(value.into()));
        Element(Value::Object(map))
    }

    fn layout(kind: &str, elements: impl IntoIterator<Item = Element>) -> Element {
        let elements: Vec<Value> = elements.into_iter().map(|e| e.0).collect();
        Element(json!({"type": kind, "elements": elements}))
    }

    /// Plain text (`text`, at most 5,000 characters).
    pub fn text(text: impl Into<String>) -> Element {
        Element::basic("text", "text", text)
    }

    /// An image by URL (`image`; the URL at most 2,048 characters). Its
    /// domain must be on the account's allow list at LivePerson.
    pub fn image(url: impl Into<String>) -> Element {
        Element::basic("image", "url", url)
    }

    /// A button (`button`; its title at most 128 characters); give it an
    /// [`action`](Self::action).
    pub fn button(title: impl Into<String>) -> Element {
        Element::basic("button", "title", title)
    }

    /// A map pointing at a place (`map`), by latitude and longitude.
    pub fn map(latitude: f64, longitude: f64) -> Element {
        Element(json!({"type": "map", "la": latitude, "lo": longitude}))
    }

    /// Elements one under the other (`vertical`): a card.
    pub fn vertical(elements: impl IntoIterator<Item = Element>) -> Element {
        Element::layout("vertical", elements)
    }

    /// Elements side by side (`horizontal`).
    pub fn horizontal(elements: impl IntoIterator<Item = Element>) -> Element {
        Element::layout("horizontal", elements)
    }

    /// Two to ten cards side by side, scrolled horizontally (`carousel`).
    pub fn carousel(cards: impl IntoIterator<Item = Element>) -> Element {
        Element::layout("carousel", cards)
    }

    /// An element given as JSON, for what the builders do not cover.
    pub fn raw(element: Value) -> Element {
        Element(element)
    }

    fn set(mut self, member: &str, value: Value) -> Element {
        if let Value::Object(map) = &mut self.0 {
            map.insert(member.into(), value);
        }
        self
    }

    /// The tooltip (also the accessible label).
    pub fn tooltip(self, tooltip: impl Into<String>) -> Element {
        self.set("tooltip", Value::from(tooltip.into()))
    }

    /// An image's caption (at most 128 characters).
    pub fn caption(self, caption: impl Into<String>) -> Element {
        self.set("caption", Value::from(caption.into()))
    }

    /// Bold text (`style.bold`).
    pub fn bold(mut self) -> Element {
        if let Value::Object(map) = &mut self.0 {
            let style = map.entry("style").or_insert_with(|| json!({}));
            if let Value::Object(style) = style {
                style.insert("bold".into(), Value::Bool(true));
            }
        }
        self
    }

    /// Adds an action run on a click (`click.actions`), after those added
    /// before.
    pub fn action(mut self, action: Action) -> Element {
        if let Value::Object(map) = &mut self.0 {
            let click = map.entry("click").or_insert_with(|| json!({}));
            if let Value::Object(click) = click {
                let actions = click.entry("actions").or_insert_with(|| json!([]));
                if let Value::Array(actions) = actions {
                    actions.push(action.0);
                }
            }
        }
        self
    }

    /// The element as it will be sent.
    pub fn as_json(&self) -> &Value {
        &self.0
    }
}

/// What a click on an element does.
#[derive(Clone, Debug, PartialEq)]
pub struct Action(Value);

impl Action {
    /// Opens a link (`link`; an absolute URI).
    pub fn link(uri: impl Into<String>) -> Action {
        Action(json!({"type": "link", "uri": uri.into()}))
    }

    /// Publishes a text into the conversation, as if typed (`publishText`).
    pub fn publish_text(text: impl Into<String>) -> Action {
        Action(json!({"type": "publishText", "text": text.into()}))
    }

    /// The action's name (`name`, of a link).
    pub fn name(mut self, name: impl Into<String>) -> Action {
        if let Value::Object(map) = &mut self.0 {
            map.insert("name".into(), Value::from(name.into()));
        }
        self
    }
}

/// Quick replies: chips under a message; a tap publishes the chip's text
/// (at most 24 chips, at most 8 a row).
#[derive(Clone, Debug, PartialEq)]
pub struct QuickReplies(Value);

impl QuickReplies {
    /// No chips yet, `items_per_row` a row (1 to 8).
    pub fn new(items_per_row: u8) -> QuickReplies {
        QuickReplies(json!({"type": "quickReplies", "itemsPerRow": items_per_row, "replies": []}))
    }

    /// Quick replies given as JSON (an object of `type` `quickReplies`).
    pub fn raw(quick_replies: Value) -> QuickReplies {
        QuickReplies(quick_replies)
    }

    /// Adds a chip titled `title` that publishes `text` when tapped.
    pub fn reply(self, title: impl Into<String>, text: impl Into<String>) -> QuickReplies {
        self.chip(Element::button(title).action(Action::publish_text(text)))
    }

    /// Adds a chip: a [`button`](Element::button) of your making.
    pub fn chip(mut self, button: Element) -> QuickReplies {
        if let Some(Value::Array(replies)) = self.0.get_mut("replies") {
            replies.push(button.0);
        }
        self
    }
}

/// The first member of a `RichContentEvent` that LivePerson's schema
/// refuses: its JSON pointer and why.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Violation {
    pub(crate) pointer: String,
    pub(crate) reason: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.pointer, self.reason)
    }
}

type Checked = Result<(), Violation>;

fn violation(pointer: String, reason: impl Into<String>) -> Violation {
    Violation {
        pointer,
        reason: reason.into(),
    }
}

fn fail(pointer: String, reason: impl Into<String>) -> Checked {
    Err(violation(pointer, reason))
}

/// The element types, for an unknown one's message.
const ELEMENT_TYPES: &str =
    "text, image, button, map, linkPreview, template, vertical, horizontal, carousel";

/// Checks a `RichContentEvent`'s `content` and `quickReplies` (found at
/// `{at}/content` and `{at}/quickReplies`).
pub(crate) fn check_event(content: &Value, quick_replies: Option<&Value>, at: &str) -> Checked {
    element(content, &format!("{at}/content"))?;
    if let Some(quick_replies) = quick_replies {
        self::quick_replies(quick_replies, &format!("{at}/quickReplies"))?;
    }
    Ok(())
}

fn object<'a>(value: &'a Value, at: &str) -> Result<&'a Map<String, Value>, Violation> {
    value
        .as_object()
        .ok_or_else(|| violation(at.to_owned(), "must be an object"))
}

/// A string member: required or not, at most `max` characters.
fn string(
    obj: &Map<String, Value>,
    name: &str,
    at: &str,
    required: bool,
    max: Option<usize>,
) -> Checked {
    let here = format!("{at}/{name}");
    match obj.get(name) {
        None if required => fail(here, "required"),
        None => Ok(()),
        Some(Value::String(text)) => match max {
            Some(max) if text.chars().count() > max => {
                fail(here, format!("at most {max} characters"))
            }
            _ => Ok(()),
        },
        Some(_) => fail(here, "must be a string"),
    }
}

fn number(obj: &Map<String, Value>, name: &str, at: &str, required: bool) -> Checked {
    match obj.get(name) {
        None if required => fail(format!("{at}/{name}"), "required"),
        None | Some(Value::Number(_)) => Ok(()),
        Some(_) => fail(format!("{at}/{name}"), "must be a number"),
    }
}

fn boolean(obj: &Map<String, Value>, name: &str, at: &str) -> Checked {
    match obj.get(name) {
        None | Some(Value::Bool(_)) => Ok(()),
        Some(_) => fail(format!("{at}/{name}"), "must be true or false"),
    }
}

/// A required array member, with its bounds; its items.
fn array<'a>(
    obj: &'a Map<String, Value>,
    name: &str,
    at: &str,
    (min, max): (usize, usize),
) -> Result<&'a [Value], Violation> {
    let here = format!("{at}/{name}");
    let items = match obj.get(name) {
        None => return Err(violation(here, "required")),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(violation(here, "must be an array")),
    };
    if items.len() < min {
        return Err(violation(here, format!("at least {min} items")));
    }
    if items.len() > max {
        return Err(violation(here, format!("at most {max} items")));
    }
    Ok(items)
}

fn element(value: &Value, at: &str) -> Checked {
    let obj = object(value, at)?;
    let kind = match obj.get("type") {
        None => return fail(format!("{at}/type"), "required"),
        Some(Value::String(kind)) => kind.as_str(),
        Some(_) => return fail(format!("{at}/type"), "must be a string"),
    };
    match kind {
        "text" => string(obj, "text", at, true, Some(5000))?,
        "image" => {
            string(obj, "url", at, true, Some(2048))?;
            string(obj, "caption", at, false, Some(128))?;
        }
        "button" => string(obj, "title", at, true, Some(128))?,
        "map" => {
            number(obj, "la", at, true)?;
            number(obj, "lo", at, true)?;
        }
        "linkPreview" => {
            string(obj, "url", at, true, Some(2048))?;
            string(obj, "title", at, false, Some(128))?;
        }
        "template" => {
            match obj.get("templateType") {
                None => return fail(format!("{at}/templateType"), "required"),
                Some(t) if t == "quickReply" => {}
                Some(_) => return fail(format!("{at}/templateType"), "must be quickReply"),
            }
            string(obj, "title", at, true, Some(5000))?;
            let answers = array(obj, "resp", at, (1, usize::MAX))?;
            for (i, answer) in answers.iter().enumerate() {
                match answer.as_str() {
                    Some(text) if text.chars().count() <= 128 => {}
                    Some(_) => fail(format!("{at}/resp/{i}"), "at most 128 characters")?,
                    None => fail(format!("{at}/resp/{i}"), "must be a string")?,
                }
            }
        }
        "vertical" | "horizontal" => {
            let elements = array(obj, "elements", at, (0, usize::MAX))?;
            return layout(elements, &format!("{at}/elements"));
        }
        "carousel" => {
            let elements = array(obj, "elements", at, (2, 10))?;
            if let Some(padding) = obj.get("padding")
                && padding.as_f64().is_none_or(|p| p < 0.0)
            {
                return fail(format!("{at}/padding"), "must be a number, 0 or more");
            }
            return layout(elements, &format!("{at}/elements"));
        }
        other => {
            return fail(
                format!("{at}/type"),
                format!("unknown element type {other:?}; expected one of {ELEMENT_TYPES}"),
            );
        }
    }
    common(obj, at)
}

fn layout(elements: &[Value], at: &str) -> Checked {
    for (i, element) in elements.iter().enumerate() {
        self::element(element, &format!("{at}/{i}"))?;
    }
    Ok(())
}

/// What every basic element may have: tooltip, rtl, style, click.
fn common(obj: &Map<String, Value>, at: &str) -> Checked {
    string(obj, "tooltip", at, false, None)?;
    boolean(obj, "rtl", at)?;
    if let Some(style) = obj.get("style") {
        let at = format!("{at}/style");
        let style = object(style, &at)?;
        boolean(style, "bold", &at)?;
        boolean(style, "italic", &at)?;
        string(style, "color", &at, false, None)?;
        if let Some(size) = style.get("size")
            && !matches!(size.as_str(), Some("small" | "medium" | "large"))
        {
            return fail(format!("{at}/size"), "must be small, medium or large");
        }
    }
    if let Some(click) = obj.get("click") {
        let at = format!("{at}/click");
        let click = object(click, &at)?;
        if click.contains_key("actions") {
            for (i, action) in array(click, "actions", &at, (0, usize::MAX))?
                .iter()
                .enumerate()
            {
                self::action(action, &format!("{at}/actions/{i}"))?;
            }
        }
        if click.contains_key("metadata") {
            for (i, item) in array(click, "metadata", &at, (0, usize::MAX))?
                .iter()
                .enumerate()
            {
                object(item, &format!("{at}/metadata/{i}"))?;
            }
        }
    }
    Ok(())
}

fn action(value: &Value, at: &str) -> Checked {
    let obj = object(value, at)?;
    match obj.get("type").and_then(Value::as_str) {
        Some("publishText") => string(obj, "text", at, true, None),
        Some("navigate") => {
            number(obj, "la", at, true)?;
            number(obj, "lo", at, true)?;
            string(obj, "name", at, false, None)
        }
        Some("link") => {
            string(obj, "uri", at, true, None)?;
            let uri = obj.get("uri").and_then(Value::as_str).unwrap_or_default();
            if reqwest::Url::parse(uri).is_err() {
                return fail(format!("{at}/uri"), "must be an absolute URI");
            }
            string(obj, "name", at, false, None)
        }
        None if !obj.contains_key("type") => fail(format!("{at}/type"), "required"),
        _ => fail(
            format!("{at}/type"),
            "must be one of publishText, navigate, link",
        ),
    }
}

fn quick_replies(value: &Value, at: &str) -> Checked {
    let obj = object(value, at)?;
    match obj.get("type") {
        None => return fail(format!("{at}/type"), "required"),
        Some(t) if t == "quickReplies" => {}
        Some(_) => return fail(format!("{at}/type"), "must be quickReplies"),
    }
    match obj.get("itemsPerRow") {
        None => return fail(format!("{at}/itemsPerRow"), "required"),
        Some(n) if n.as_u64().is_some_and(|n| (1..=8).contains(&n)) => {}
        Some(_) => {
            return fail(
                format!("{at}/itemsPerRow"),
                "must be an integer from 1 to 8",
            );
        }
    }
    let replies = array(obj, "replies", at, (0, 24))?;
    for (i, reply) in replies.iter().enumerate() {
        let here = format!("{at}/replies/{i}");
        if reply.get("type").is_some_and(|t| t != "button") {
            return fail(format!("{here}/type"), "a quick reply is a button");
        }
        element(reply, &here)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{Action, Element, QuickReplies, RichContent, check_event};
    use serde_json::{Value, json};

    fn first_violation(content: Value, quick_replies: Option<Value>) -> Option<String> {
        check_event(&content, quick_replies.as_ref(), "")
            .err()
            .map(|v| v.to_string())
    }

    #[test]
    fn built_content_passes_the_check() {
        let card = RichContent::new(Element::carousel([
            Element::vertical([
                Element::image("https://example.org/a.png").caption("A"),
                Element::text("A").bold().tooltip("a"),
                Element::button("Buy").action(Action::link("https://example.org/a").name("Buy")),
            ]),
            Element::vertical([Element::map(40.7, -73.9), Element::text("B")]),
        ]))
        .quick_replies(QuickReplies::new(8).reply("Yes", "yes").reply("No", "no"));
        let (content, quick_replies) = card.into_parts();
        assert_eq!(first_violation(content, quick_replies), None);
    }

    #[test]
    fn the_first_violation_is_named_by_its_pointer() {
        let cases = [
            (
                json!({"type": "vertical"}),
                None,
                "/content/elements: required",
            ),
            (
                json!({"type": "vertical", "elements": [{"type": "text", "text": "a"}, {"type": "button"}]}),
                None,
                "/content/elements/1/title: required",
            ),
            (
                json!({"type": "text", "text": "x".repeat(5001)}),
                None,
                "/content/text: at most 5000 characters",
            ),
            (
                json!({"type": "carousel", "elements": [{"type": "vertical", "elements": []}]}),
                None,
                "/content/elements: at least 2 items",
            ),
            (
                json!({"type": "video", "url": "x"}),
                None,
                "/content/type: unknown element type",
            ),
            (
                json!({"type": "button", "title": "t", "click": {"actions": [{"type": "link", "uri": "no scheme"}]}}),
                None,
                "/content/click/actions/0/uri: must be an absolute URI",
            ),
            (
                json!({"type": "text", "text": "t", "style": {"size": "huge"}}),
                None,
                "/content/style/size: must be small, medium or large",
            ),
            (
                json!({"type": "text", "text": "t"}),
                Some(json!({"type": "quickReplies", "itemsPerRow": 9, "replies": []})),
                "/quickReplies/itemsPerRow: must be an integer from 1 to 8",
            ),
            (
                json!({"type": "text", "text": "t"}),
                Some(
                    json!({"type": "quickReplies", "itemsPerRow": 2, "replies": [{"type": "text", "text": "x"}]}),
                ),
                "/quickReplies/replies/0/type: a quick reply is a button",
            ),
        ];
        for (content, quick_replies, expected) in cases {
            let found = first_violation(content, quick_replies).unwrap_or_default();
            assert!(found.starts_with(expected), "{found:?} is not {expected:?}");
        }
    }
}
