//! The JSON text of a properties write, made without a [`Value`].
//!
//! `set_properties` sends the caller's properties as
//! `serde_json::to_vec(&serde_json::to_value(properties)?)` writes them:
//! every object's keys sorted, a repeated key's last value kept, each
//! property's nesting checked ([`super::check`]). Building that `Value` and
//! dropping it again was most of what a small write cost beyond raw reqwest
//! (about 5k of 87k instructions, issue 28). [`properties_text`] writes the
//! same bytes by serializing the caller's value straight to text, noting as
//! it writes whether every object's keys come in order (a `BTreeMap`, a
//! `Value`, a struct whose fields are in order) and how deep it nests. Only
//! text whose keys do not is rewritten, each object's members sorted by
//! moving slices of it.
//!
//! Where it could differ, it gives up (`None`) and the caller takes the
//! `Value` road, which then also gives the error a refused value gets:
//!
//! * a serializer error, a value that is not an object, a property nested
//!   deeper than [`MAX_VALUE_DEPTH`](super::MAX_VALUE_DEPTH);
//! * an integer beyond `i64`/`u64` (`to_value` refuses it), a
//!   [`RawValue`](super::RawValue) (`to_value` parses and rewrites it);
//! * a serde_json built with features that change what `to_value` keeps
//!   (`preserve_order`, `arbitrary_precision`, which another crate of the
//!   build may turn on): checked once per process on a probe, see
//!   [`agrees`].
//!
//! `f32`s are written as `to_value` keeps them, widened to `f64`.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::io;
use std::sync::OnceLock;

use serde::Serialize;
use serde_json::ser::{CharEscape, CompactFormatter, Formatter};

use super::MAX_VALUE_DEPTH;

/// The bytes `serde_json::to_vec(&serde_json::to_value(value)?)` gives,
/// when `value` is an object whose members are each at most
/// [`MAX_VALUE_DEPTH`](super::MAX_VALUE_DEPTH) deep; `None` when it is not,
/// or when this way might not give the same bytes (see the module).
pub(crate) fn properties_text<T: Serialize + ?Sized>(value: &T) -> Option<Vec<u8>> {
    if !agrees() {
        return None;
    }
    written(value)
}

/// [`properties_text`] without the check that it agrees with `to_value`.
fn written<T: Serialize + ?Sized>(value: &T) -> Option<Vec<u8>> {
    let mut text = Vec::with_capacity(128);
    let mut noted = Noted {
        sorted: true,
        depth: 0,
        in_key: false,
        key_start: 0,
        keys: Vec::new(),
        objects: [(0, false); MAX_VALUE_DEPTH + 2],
    };
    value
        .serialize(&mut serde_json::Serializer::with_formatter(
            &mut text,
            AsValueWrites(&mut noted),
        ))
        .ok()?;
    // An object, written whole (a string starts with `"`, an array `[`).
    if text.first() != Some(&b'{') {
        return None;
    }
    if noted.sorted {
        return Some(text);
    }
    let mut out = Vec::with_capacity(text.len());
    rewrite(&text, 0, &mut out);
    Some(out)
}

/// Whether this module writes what `to_value` then `to_vec` write, with the
/// serde_json this build has: decided once, on a value that has every case
/// a feature of serde_json changes (member order, a repeated key, an `f32`,
/// an escaped key).
fn agrees() -> bool {
    static AGREES: OnceLock<bool> = OnceLock::new();
    *AGREES.get_or_init(|| {
        let probe = probe();
        let by_value = serde_json::to_value(&probe).and_then(|v| serde_json::to_vec(&v));
        matches!((by_value, written(&probe)), (Ok(a), Some(b)) if a == b)
    })
}

/// The value [`agrees`] writes both ways.
fn probe() -> impl Serialize {
    #[derive(Serialize)]
    struct Probe {
        z: f32,
        b: Vec<f64>,
        #[serde(rename = "a\n\u{e9}")]
        escaped: &'static str,
        a: Inner,
        #[serde(flatten)]
        more: Pairs<i128>,
        f32_keys: BTreeMap<u32, BTreeMap<F32Key, u8>>,
    }
    /// A map key written from an `f32`.
    #[derive(PartialEq, Eq, PartialOrd, Ord)]
    struct F32Key;
    impl Serialize for F32Key {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_f32(0.1)
        }
    }
    #[derive(Serialize)]
    struct Inner {
        y: u8,
        x: (),
    }
    Probe {
        z: 0.1,
        b: vec![1.5, 1e300],
        escaped: "\u{1}\"",
        a: Inner { y: 1, x: () },
        more: Pairs(vec![("z", 7), ("m", -(1 << 62))]),
        f32_keys: BTreeMap::from([(3, BTreeMap::from([(F32Key, 1)]))]),
    }
}

/// Members in the order given, a key repeated if it is (a map that
/// `#[serde(flatten)]` can take, as a `Vec` of pairs cannot be).
struct Pairs<V>(Vec<(&'static str, V)>);

impl<V: Serialize> Serialize for Pairs<V> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// serde_json's compact writing, noting ([`Noted`]) whether every
/// object's keys are strictly ascending, and refusing (an error, so that
/// the caller takes the `Value` road) what `to_value` would refuse or
/// rewrite: nesting deeper than a member may, an integer beyond 64 bits, a
/// raw value. An `f32` value is written as `to_value` keeps it, as an
/// `f64`; an `f32` key as itself, as `to_value` writes it.
struct AsValueWrites<'n>(&'n mut Noted);

/// What [`AsValueWrites`] notes as it writes.
struct Noted {
    /// Whether every key so far came after the one before it in its
    /// object, as `String`s compare (by their UTF-8 bytes).
    sorted: bool,
    /// Arrays and objects open now; the properties object is the first.
    depth: usize,
    /// Between `begin_object_key` and `end_object_key`.
    in_key: bool,
    /// Where the key being written starts in `keys`.
    key_start: usize,
    /// The last key of each object open now, decoded, one after another
    /// (then the key being written).
    keys: Vec<u8>,
    /// For each level of nesting open now that is an object (by `depth`;
    /// no allocation): where its keys start in `keys`, and whether it has
    /// one yet.
    objects: [(usize, bool); MAX_VALUE_DEPTH + 2],
}

/// The refusal [`AsValueWrites`] gives.
fn refused() -> io::Error {
    io::Error::other("not written as to_value writes it")
}

impl AsValueWrites<'_> {
    /// One more array or object open: a member (inside the properties
    /// object) may nest [`MAX_VALUE_DEPTH`] levels.
    fn open(&mut self) -> io::Result<()> {
        self.0.depth += 1;
        if self.0.depth > MAX_VALUE_DEPTH + 1 {
            return Err(refused());
        }
        Ok(())
    }
}

/// Writers of scalars, which also write a key's text (a map's key may be a
/// number or a boolean, written inside quotes) into [`Noted::keys`].
macro_rules! scalars {
    ($($method:ident($type:ty)),* $(,)?) => {$(
        fn $method<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: $type) -> io::Result<()> {
            if self.0.in_key {
                CompactFormatter.$method(&mut self.0.keys, value)?;
            }
            CompactFormatter.$method(writer, value)
        }
    )*};
}

impl Formatter for AsValueWrites<'_> {
    scalars!(
        write_bool(bool),
        write_i8(i8),
        write_i16(i16),
        write_i32(i32),
        write_i64(i64),
        write_u8(u8),
        write_u16(u16),
        write_u32(u32),
        write_u64(u64),
        write_f64(f64),
        write_number_str(&str),
    );

    fn begin_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.open()?;
        CompactFormatter.begin_array(writer)
    }

    fn end_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.depth -= 1;
        CompactFormatter.end_array(writer)
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.open()?;
        // Within bounds: `open` refuses a depth beyond them.
        self.0.objects[self.0.depth] = (self.0.keys.len(), false);
        CompactFormatter.begin_object(writer)
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        let (start, _) = self.0.objects[self.0.depth];
        self.0.keys.truncate(start);
        self.0.depth -= 1;
        CompactFormatter.end_object(writer)
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.in_key = true;
        self.0.key_start = self.0.keys.len();
        CompactFormatter.begin_object_key(writer, first)
    }

    fn end_object_key<W: ?Sized + io::Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        let noted = &mut *self.0;
        noted.in_key = false;
        let this = noted.key_start;
        // A key is written in an open object, at `depth`.
        let (start, has_key) = &mut noted.objects[noted.depth];
        if *has_key {
            // `keys[start..this]` is the object's last key, `keys[this..]` this one.
            if noted.keys[*start..this] >= noted.keys[this..] {
                noted.sorted = false;
            }
            noted.keys.drain(*start..this);
        }
        *has_key = true;
        Ok(())
    }

    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        if self.0.in_key {
            self.0.keys.extend_from_slice(fragment.as_bytes());
        }
        CompactFormatter.write_string_fragment(writer, fragment)
    }

    fn write_char_escape<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        escape: CharEscape,
    ) -> io::Result<()> {
        if self.0.in_key {
            self.0.keys.push(match escape {
                CharEscape::Quote => b'"',
                CharEscape::ReverseSolidus => b'\\',
                CharEscape::Solidus => b'/',
                CharEscape::Backspace => 0x08,
                CharEscape::FormFeed => 0x0c,
                CharEscape::LineFeed => b'\n',
                CharEscape::CarriageReturn => b'\r',
                CharEscape::Tab => b'\t',
                CharEscape::AsciiControl(byte) => byte,
            });
        }
        CompactFormatter.write_char_escape(writer, escape)
    }

    fn write_f32<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f32) -> io::Result<()> {
        if self.0.in_key {
            CompactFormatter.write_f32(&mut self.0.keys, value)?;
            CompactFormatter.write_f32(writer, value)
        } else {
            self.write_f64(writer, f64::from(value))
        }
    }

    fn write_i128<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: i128) -> io::Result<()> {
        match i64::try_from(value) {
            Ok(small) => self.write_i64(writer, small),
            Err(_) => match u64::try_from(value) {
                Ok(small) => self.write_u64(writer, small),
                Err(_) => Err(refused()),
            },
        }
    }

    fn write_u128<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: u128) -> io::Result<()> {
        match u64::try_from(value) {
            Ok(small) => self.write_u64(writer, small),
            Err(_) => Err(refused()),
        }
    }

    fn write_raw_fragment<W: ?Sized + io::Write>(
        &mut self,
        _writer: &mut W,
        _fragment: &str,
    ) -> io::Result<()> {
        Err(refused())
    }
}

/// A member's key: the literal from its opening quote to its closing one
/// (`end`), and whether it has escapes (then it is compared decoded).
#[derive(Clone, Copy)]
struct Key {
    start: usize,
    end: usize,
    escaped: bool,
}

impl Key {
    /// The key whose opening quote is at `at`, followed by `:`.
    fn at(text: &[u8], at: usize) -> Option<Key> {
        if text.get(at) != Some(&b'"') {
            return None;
        }
        let end = super::string_close(text, at)?;
        if text.get(end + 1) != Some(&b':') {
            return None;
        }
        let escaped = text[at + 1..end].contains(&b'\\');
        Some(Key {
            start: at,
            end,
            escaped,
        })
    }

    /// The order of the decoded keys, as `String`s compare (by their
    /// UTF-8 bytes), which is the order of a `Value`'s map.
    fn cmp(&self, other: &Key, text: &[u8]) -> Ordering {
        let inner = |key: &Key| &text[key.start + 1..key.end];
        if !self.escaped && !other.escaped {
            return inner(self).cmp(inner(other));
        }
        // Rare: a key with a quote, a backslash or a control character.
        let decode = |key: &Key| {
            serde_json::from_slice::<String>(&text[key.start..=key.end]).unwrap_or_default()
        };
        decode(self).cmp(&decode(other))
    }
}

/// Writes the value at `at` (as serde_json writes it) into `out` with every
/// object's members sorted and a repeated key's last value kept; returns
/// where it ends in `text`.
fn rewrite(text: &[u8], at: usize, out: &mut Vec<u8>) -> usize {
    match text[at] {
        b'[' => {
            out.push(b'[');
            let mut at = at + 1;
            if text[at] == b']' {
                out.push(b']');
                return at + 1;
            }
            loop {
                at = rewrite(text, at, out);
                out.push(text[at]);
                at += 1;
                if text[at - 1] == b']' {
                    return at;
                }
            }
        }
        b'{' => {
            let mut members: Vec<(Key, usize)> = Vec::new();
            let mut at = at + 1;
            if text[at] != b'}' {
                // A key, `:`, a value, then `,` or `}`.
                while let Some(key) = Key::at(text, at) {
                    members.push((key, key.end + 2));
                    at = super::value_end(text, key.end + 2);
                    at += 1;
                    if text[at - 1] == b'}' {
                        break;
                    }
                }
            } else {
                at += 1;
            }
            // Stable: of equal keys, the last stays last, and is kept.
            members.sort_by(|a, b| a.0.cmp(&b.0, text));
            out.push(b'{');
            let mut first = true;
            for (i, (key, value)) in members.iter().enumerate() {
                if members
                    .get(i + 1)
                    .is_some_and(|(next, _)| key.cmp(next, text) == Ordering::Equal)
                {
                    continue;
                }
                if !first {
                    out.push(b',');
                }
                first = false;
                out.extend_from_slice(&text[key.start..=key.end + 1]);
                rewrite(text, *value, out);
            }
            out.push(b'}');
            at
        }
        _ => {
            let end = super::value_end(text, at);
            out.extend_from_slice(&text[at..end]);
            end
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use serde::Serialize;
    use serde_json::{Value, json};

    use super::*;

    /// What the `Value` road writes.
    fn by_value<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
        serde_json::to_vec(&serde_json::to_value(value).unwrap()).unwrap()
    }

    fn same<T: Serialize + ?Sized>(value: &T) {
        let text = properties_text(value).expect("written");
        assert_eq!(
            String::from_utf8_lossy(&text),
            String::from_utf8_lossy(&by_value(value))
        );
    }

    #[test]
    fn this_builds_serde_json_agrees() {
        assert!(agrees());
    }

    #[test]
    fn sorted_text_is_kept_as_written() {
        let value = json!({"a": [1, {"b": 2, "c": [true, null]}], "b": "x", "c": 1.5});
        assert_eq!(
            properties_text(&value).unwrap(),
            serde_json::to_vec(&value).unwrap()
        );
        same(&value);
    }

    #[test]
    fn a_structs_members_are_sorted_at_every_level() {
        #[derive(Serialize)]
        struct Outer {
            zeta: Vec<Inner>,
            alpha: Inner,
            mid: HashMap<String, u8>,
        }
        #[derive(Serialize)]
        struct Inner {
            y: &'static str,
            x: Option<f32>,
            w: [u8; 0],
        }
        let inner = || Inner {
            y: "]},\"{[",
            x: Some(0.3),
            w: [],
        };
        let value = Outer {
            zeta: vec![inner(), inner()],
            alpha: inner(),
            mid: (0..20).map(|i| (format!("k{i}"), i)).collect(),
        };
        same(&value);
    }

    #[test]
    fn a_repeated_key_keeps_its_last_value_at_the_first_place_in_order() {
        #[derive(Serialize)]
        struct Repeats {
            b: u8,
            a: u8,
            #[serde(flatten)]
            more: Pairs<u8>,
        }
        let value = Repeats {
            b: 1,
            a: 2,
            more: Pairs(vec![("b", 3), ("c", 4), ("a", 5), ("b", 6)]),
        };
        same(&value);
        assert_eq!(properties_text(&value).unwrap(), br#"{"a":5,"b":6,"c":4}"#);
    }

    #[test]
    fn escaped_keys_are_compared_decoded() {
        let mut map = BTreeMap::new();
        for key in [
            "\u{7f}",
            "\n",
            "\"",
            "\\",
            "a\u{1}",
            "a",
            "\u{e9}",
            "\u{1F600}",
            "Z",
            "",
        ] {
            map.insert(key, key.len());
        }
        // A HashMap's order is not sorted: the text is rewritten.
        let hashed: HashMap<_, _> = map.clone().into_iter().collect();
        same(&map);
        same(&hashed);
    }

    #[test]
    fn numbers_are_written_as_the_value_keeps_them() {
        #[derive(Serialize)]
        struct Numbers {
            f: f32,
            g: f64,
            nan: f32,
            big: u64,
            neg: i128,
            fits: u128,
        }
        same(&Numbers {
            f: 0.1,
            g: -1e-300,
            nan: f32::NAN,
            big: u64::MAX,
            neg: i128::from(i64::MIN),
            fits: u128::from(u64::MAX),
        });
    }

    #[test]
    fn keys_that_are_not_strings_are_sorted_as_written() {
        #[derive(Serialize)]
        struct Keys {
            by_f32: HashMap<String, BTreeMap<F32, u8>>,
        }
        #[derive(PartialEq, Eq, PartialOrd, Ord, Hash)]
        struct F32(u32);
        impl Serialize for F32 {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_f32(f32::from_bits(self.0))
            }
        }
        let keys = (0..50)
            .map(|i| F32(0x3dcc_cccd + i * 7919))
            .map(|k| (k, 1))
            .collect();
        same(&Keys {
            by_f32: HashMap::from([("x".to_owned(), keys)]),
        });
        // Integer and boolean keys are written as text, and sorted as text.
        let by_number: HashMap<i64, HashMap<bool, u8>> = (-20..20)
            .map(|i| (i * 37, HashMap::from([(true, 1), (false, 0)])))
            .collect();
        same(&by_number);
    }

    #[test]
    fn what_the_value_road_refuses_or_rewrites_is_left_to_it() {
        // Not an object.
        assert_eq!(properties_text(&[1, 2]), None);
        assert_eq!(properties_text(&"a"), None);
        // An integer `to_value` refuses.
        assert_eq!(properties_text(&BTreeMap::from([("a", u128::MAX)])), None);
        assert_eq!(properties_text(&BTreeMap::from([("a", i128::MIN)])), None);
        // A raw value, which `to_value` parses and writes again.
        let raw = serde_json::value::RawValue::from_string("{\"b\": 1, \"a\": 2}".into()).unwrap();
        assert_eq!(properties_text(&BTreeMap::from([("a", raw)])), None);
        // A key serde_json cannot write.
        assert_eq!(properties_text(&BTreeMap::from([((1, 2), 1)])), None);
    }

    #[test]
    fn a_member_deeper_than_allowed_is_left_to_the_value_road() {
        fn nested(levels: usize) -> Value {
            (0..levels).fold(json!(1), |inner, _| json!([inner]))
        }
        let ok = json!({"a": nested(MAX_VALUE_DEPTH), "b": 1});
        same(&ok);
        let deep = json!({"a": 1, "b": nested(MAX_VALUE_DEPTH + 1)});
        assert_eq!(properties_text(&deep), None);
        // Far deeper than the check descends.
        let deeper = json!({"b": nested(120)});
        assert_eq!(properties_text(&deeper), None);
    }

    #[test]
    fn empty_objects_and_arrays() {
        same(&json!({}));
        same(&json!({"b": {}, "a": []}));
        same(&BTreeMap::from([("b", BTreeMap::<String, u8>::new())]));
    }

    /// Random values, written straight and through a `Value`, give the same
    /// bytes: 2,000 of them, from a fixed seed and from the clock.
    #[test]
    fn random_values_are_written_as_the_value_road_writes_them() {
        let clock = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64);
        for seed in [0x5eed_u64, clock | 1] {
            let mut rng = Rng(seed);
            for _ in 0..1_000 {
                let value = Random::object(&mut rng, 0);
                let text = properties_text(&value);
                let expected = by_value(&value);
                assert_eq!(
                    text.as_deref().map(String::from_utf8_lossy),
                    Some(String::from_utf8_lossy(&expected)),
                    "seed {seed}"
                );
            }
        }
    }

    /// xorshift64: enough to vary shapes.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    /// A value with members in the order they were drawn (a `Vec` of pairs,
    /// so keys repeat and come unsorted), and numbers of every width.
    enum Random {
        Object(Vec<(String, Random)>),
        Array(Vec<Random>),
        Text(String),
        F32(f32),
        F64(f64),
        I64(i64),
        U128(u128),
        Bool(bool),
        Null,
    }

    impl Random {
        fn object(rng: &mut Rng, level: usize) -> Random {
            let n = rng.below(6) as usize;
            Random::Object(
                (0..n)
                    .map(|_| (key(rng), Random::any(rng, level + 1)))
                    .collect(),
            )
        }

        fn any(rng: &mut Rng, level: usize) -> Random {
            let limit = if level > 5 { 7 } else { 9 };
            match rng.below(limit) {
                0 => Random::Text(key(rng)),
                1 => Random::F32(f32::from_bits(rng.next() as u32)),
                2 => Random::F64(f64::from_bits(rng.next())),
                3 => Random::I64(rng.next() as i64),
                4 => Random::U128(u128::from(rng.next())),
                5 => Random::Bool(rng.below(2) == 0),
                6 => Random::Null,
                7 => Random::object(rng, level),
                _ => Random::Array(
                    (0..rng.below(4))
                        .map(|_| Random::any(rng, level + 1))
                        .collect(),
                ),
            }
        }
    }

    /// Short keys from a small alphabet (so they repeat), with escapes and
    /// characters beyond ASCII.
    fn key(rng: &mut Rng) -> String {
        const ALPHABET: [&str; 10] = [
            "a",
            "b",
            "B",
            "\"",
            "\\",
            "\n",
            "\u{1}",
            "\u{e9}",
            "\u{1F600}",
            "~",
        ];
        (0..rng.below(3))
            .map(|_| ALPHABET[rng.below(ALPHABET.len() as u64) as usize])
            .collect()
    }

    impl Serialize for Random {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::{SerializeMap, SerializeSeq};
            match self {
                Random::Object(members) => {
                    let mut map = s.serialize_map(Some(members.len()))?;
                    for (k, v) in members {
                        map.serialize_entry(k, v)?;
                    }
                    map.end()
                }
                Random::Array(items) => {
                    let mut seq = s.serialize_seq(Some(items.len()))?;
                    for item in items {
                        seq.serialize_element(item)?;
                    }
                    seq.end()
                }
                Random::Text(text) => s.serialize_str(text),
                Random::F32(f) => s.serialize_f32(*f),
                Random::F64(f) => s.serialize_f64(*f),
                Random::I64(i) => s.serialize_i64(*i),
                Random::U128(u) => s.serialize_u128(*u),
                Random::Bool(b) => s.serialize_bool(*b),
                Random::Null => s.serialize_unit(),
            }
        }
    }
}
