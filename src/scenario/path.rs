//! Scenario fields addressed by path, as the scenario file spells them: tables by name
//! (`params.coverage_weight`), arrays of tables by `id` (`platform.tenpay.imitation.wechat`,
//! `channel.offline.shops`) or by index (`event[3].months`); reading and setting them on a
//! scenario, and rewriting them in a scenario's TOML text with its comments kept.
//!
//! Owns: `get_path`, `set_path`, `set_paths`, `patch_toml`, `patch_name`. Reads: the scenario's
//! serde form. Never: runs, experiments, files.
//!
//! ```
//! use paymarket::scenario::path::{get_path, set_path};
//! use paymarket::Scenario;
//! let s = Scenario::load("data/scenarios/duopoly.toml")?;
//! let t = set_path(&s, "params.coverage_weight", 0.1)?;
//! assert_eq!(get_path(&t, "params.coverage_weight")?, 0.1);
//! # Ok::<(), paymarket::Error>(())
//! ```

use super::{Scenario, ValidScenario};
use crate::error::{Error, Problem, Result};
use serde_json::Value;

fn problem(path: &str, message: String) -> Error {
    Error::Scenario {
        origin: "sweep".into(),
        problems: vec![Problem {
            path: path.to_string(),
            message,
        }],
    }
}

/// One step of a path: a name, or an index into an array.
enum Seg<'a> {
    Name(&'a str),
    Index(usize),
}

fn parse(path: &str) -> Result<Vec<Seg<'_>>> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (name, mut rest) = match part.find('[') {
            Some(k) => (&part[..k], &part[k..]),
            None => (part, ""),
        };
        if name.is_empty() && out.is_empty() {
            return Err(problem(
                path,
                "a path starts with a field name, e.g. params.coverage_weight".into(),
            ));
        }
        if !name.is_empty() {
            out.push(Seg::Name(name));
        }
        while !rest.is_empty() {
            let close = rest
                .find(']')
                .ok_or_else(|| problem(path, "missing `]`".into()))?;
            let idx = rest[1..close].parse::<usize>().map_err(|_| {
                problem(path, format!("`{}` is not an array index", &rest[1..close]))
            })?;
            out.push(Seg::Index(idx));
            rest = &rest[close + 1..];
            if !rest.is_empty() && !rest.starts_with('[') {
                return Err(problem(path, format!("unexpected `{rest}` after an index")));
            }
        }
    }
    Ok(out)
}

/// Finds the value at `path`; with `create`, a missing last field is added as null.
fn locate<'v>(root: &'v mut Value, path: &str, create: bool) -> Result<&'v mut Value> {
    let segs = parse(path)?;
    let last = segs.len() - 1;
    let mut cur = root;
    let mut here = String::new();
    for (k, seg) in segs.iter().enumerate() {
        cur = match (seg, cur) {
            (Seg::Name(name), Value::Object(map)) => {
                if !map.contains_key(*name) {
                    if !(create && k == last) {
                        let keys: Vec<&String> = map.keys().collect();
                        return Err(problem(
                            path,
                            format!(
                                "no field `{name}` in `{}`; fields there: {}",
                                if here.is_empty() {
                                    "the scenario"
                                } else {
                                    &here
                                },
                                keys.iter()
                                    .map(|s| s.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        ));
                    }
                    map.insert(name.to_string(), Value::Null);
                }
                map.get_mut(*name).expect("present")
            }
            (Seg::Name(name), Value::Array(items)) => {
                let ids: Vec<String> = items
                    .iter()
                    .filter_map(|v| v.get("id").and_then(Value::as_str).map(String::from))
                    .collect();
                let pos = ids.iter().position(|id| id == name).ok_or_else(|| {
                    problem(
                        path,
                        format!("no `{here}` with id `{name}`; ids: {}", ids.join(", ")),
                    )
                })?;
                &mut items[pos]
            }
            (Seg::Index(i), Value::Array(items)) => {
                let n = items.len();
                items.get_mut(*i).ok_or_else(|| {
                    problem(
                        path,
                        format!("index {i} is out of range: `{here}` has {n} entries"),
                    )
                })?
            }
            (_, _) => {
                return Err(problem(
                    path,
                    format!("`{here}` is a single value; the path cannot go further"),
                ))
            }
        };
        match seg {
            Seg::Name(n) if here.is_empty() => here = n.to_string(),
            Seg::Name(n) => here = format!("{here}.{n}"),
            Seg::Index(i) => here = format!("{here}[{i}]"),
        }
    }
    Ok(cur)
}

/// The scenario as a tree for path access. A field that a scenario file leaves out when it is at
/// its default (`fringe_share`) is put back with that default, so that reading it by path gives
/// the value in force rather than "no field".
fn to_value(s: &Scenario) -> Value {
    let mut v = serde_json::to_value(s).expect("a scenario always serialises");
    if let Some(Value::Array(platforms)) = v.get_mut("platform") {
        for p in platforms.iter_mut() {
            if let Value::Object(map) = p {
                map.entry("fringe_share").or_insert(Value::from(0.0));
            }
        }
    }
    v
}

/// The numeric field at `path`.
pub fn get_path(s: &Scenario, path: &str) -> Result<f64> {
    let mut v = to_value(s);
    let x = locate(&mut v, path, false)?;
    x.as_f64()
        .ok_or_else(|| problem(path, format!("`{x}` is not a number")))
}

/// A copy of `s` with the numeric field at `path` set to `value`, validated. Integer fields
/// take only whole values; a field absent from the file (an optional one, or a new key in a
/// table such as an imitation weight) is added.
pub fn set_path(s: &Scenario, path: &str, value: f64) -> Result<Scenario> {
    set_paths(s, &[(path, value)])
}

/// [`set_path`] for several fields at once: one pass over the scenario and one validation of the
/// result (so a setting is judged as a whole, not field by field).
pub fn set_paths(s: &Scenario, values: &[(&str, f64)]) -> Result<Scenario> {
    set_paths_valid(s, values).map(ValidScenario::into_inner)
}

/// [`set_paths`], keeping the proof of validation.
pub fn set_paths_valid(s: &Scenario, values: &[(&str, f64)]) -> Result<ValidScenario> {
    let mut root = to_value(s);
    for &(path, value) in values {
        set_value(&mut root, path, value)?;
    }
    let first = values.first().map(|v| v.0).unwrap_or("");
    let out: Scenario = serde_json::from_value(root)
        .map_err(|e| problem(first, format!("{e}; check the field name and type")))?;
    let setting: Vec<String> = values.iter().map(|(p, v)| format!("{p} = {v}")).collect();
    out.validate_as(&format!("sweep setting {}", setting.join(", ")))?;
    Ok(ValidScenario(out))
}

/// Writes one number at `path` in the scenario's JSON form.
fn set_value(root: &mut Value, path: &str, value: f64) -> Result<()> {
    if !value.is_finite() {
        return Err(problem(path, format!("{value} is not a finite number")));
    }
    let slot = locate(root, path, true)?;
    let whole = value.fract() == 0.0 && value >= 0.0 && value < u64::MAX as f64;
    *slot = match slot {
        Value::Number(n) if n.is_u64() || n.is_i64() => {
            if !whole {
                return Err(problem(
                    path,
                    format!("this field takes whole numbers, got {value}"),
                ));
            }
            Value::from(value as u64)
        }
        Value::Number(_) => Value::from(value),
        Value::Null if whole => Value::from(value as u64),
        Value::Null => Value::from(value),
        other => {
            return Err(problem(
                path,
                format!("`{other}` is not a number; only numeric fields can be swept"),
            ))
        }
    };
    Ok(())
}

/// Rewrites the numbers at `paths` in a scenario's TOML text, keeping everything else (comments,
/// sources, layout) as written; each changed value gets a trailing comment with `note` and its
/// old value. Paths are those of [`set_path`]; a field absent from the text is added.
///
/// ```
/// let text = "name = \"x\"\n[[platform]]\nid = \"a\"\nbrand = 0.5  # a guess\n";
/// let out = paymarket::scenario::path::patch_toml(text, &[("platform.a.brand".into(), 1.25)], "calibrated")?;
/// assert!(out.contains("brand = 1.25"));
/// assert!(out.contains("calibrated, was 0.5"));
/// # Ok::<(), paymarket::Error>(())
/// ```
pub fn patch_toml(text: &str, values: &[(String, f64)], note: &str) -> Result<String> {
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e| problem("", format!("the scenario text does not parse: {e}")))?;
    for (path, v) in values {
        let segs = parse(path)?;
        patch_in(doc.as_table_mut(), &segs, false, path, *v, note)?;
    }
    Ok(doc.to_string())
}

/// Sets the scenario's top-level `name` in its TOML text, keeping everything else (comments
/// included) as it is.
///
/// ```
/// let text = "# a comment\nname = \"a\" # kept\nstart = \"2020-01\"\n";
/// let out = paymarket::scenario::path::patch_name(text, "b")?;
/// assert!(out.contains("name = \"b\"") && out.contains("# a comment"));
/// # Ok::<(), paymarket::Error>(())
/// ```
pub fn patch_name(text: &str, name: &str) -> Result<String> {
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e| problem("", format!("the scenario text does not parse: {e}")))?;
    let decor = doc
        .get("name")
        .and_then(|i| i.as_value())
        .map(|v| v.decor().clone());
    let mut v = toml_edit::Value::from(name);
    if let Some(d) = decor {
        *v.decor_mut() = d;
    }
    doc["name"] = toml_edit::Item::Value(v);
    Ok(doc.to_string())
}

/// Sets the value at `segs` below table `t` (`inline`: `t` is an inline table, where TOML
/// allows no comments).
fn patch_in(
    t: &mut dyn toml_edit::TableLike,
    segs: &[Seg],
    inline: bool,
    path: &str,
    v: f64,
    note: &str,
) -> Result<()> {
    use toml_edit::{Item, Value as TV};
    let missing = |what: &str| problem(path, format!("no `{what}` in the scenario text"));
    match segs {
        [Seg::Name(name)] => {
            let old = t.get(name).and_then(|i| i.as_value()).cloned();
            let is_int = matches!(old, Some(TV::Integer(_)));
            let mut new: TV = if is_int && v.fract() == 0.0 {
                (v as i64).into()
            } else {
                v.into()
            };
            if !inline {
                let was = old
                    .as_ref()
                    .map(|o| format!(", was {}", o.clone().decorated("", "")))
                    .unwrap_or_default();
                let comment = old
                    .as_ref()
                    .and_then(|o| o.decor().suffix())
                    .and_then(|s| s.as_str())
                    .map(|s| s.trim().trim_start_matches('#').trim().to_string())
                    .filter(|s| !s.is_empty())
                    .map(|s| format!("; {s}"))
                    .unwrap_or_default();
                new = new.decorated(" ", format!("  # {note}{was}{comment}"));
            }
            t.insert(name, Item::Value(new));
            Ok(())
        }
        [Seg::Name(name), rest @ ..] => {
            if t.get(name).is_none() && rest.len() == 1 {
                t.insert(name, Item::Table(toml_edit::Table::new()));
            }
            let item = t.get_mut(name).ok_or_else(|| missing(name))?;
            if let Some(tables) = item.as_array_of_tables_mut() {
                let (pos, rest) = match rest {
                    [Seg::Name(id), more @ ..] if !more.is_empty() => (
                        tables
                            .iter()
                            .position(|x| x.get("id").and_then(|i| i.as_str()) == Some(*id))
                            .ok_or_else(|| missing(&format!("{name} with id {id}")))?,
                        more,
                    ),
                    [Seg::Index(i), more @ ..] if !more.is_empty() => (*i, more),
                    _ => return Err(missing(path)),
                };
                let n = tables.len();
                let table = tables.get_mut(pos).ok_or_else(|| {
                    problem(
                        path,
                        format!("index {pos} is out of range: `{name}` has {n} entries"),
                    )
                })?;
                patch_in(table, rest, false, path, v, note)
            } else {
                let inline = item.is_inline_table();
                let table = item
                    .as_table_like_mut()
                    .ok_or_else(|| problem(path, format!("`{name}` is not a table")))?;
                patch_in(table, rest, inline, path, v, note)
            }
        }
        _ => Err(missing(path)),
    }
}
