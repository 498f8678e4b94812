//! What a failure says is missing, read from the messages of the Python
//! exceptions (and the pytest error) that name a missing name. The context
//! builder shows the names that do exist there; the remedies look for the
//! name the code meant.

/// The text inside the first pair of quotes after `marker` in `message`.
pub fn quoted_after<'m>(message: &'m str, marker: &str) -> Option<&'m str> {
    let rest = &message[message.find(marker)? + marker.len()..];
    let open = rest.find(['\'', '"'])?;
    let quote = rest[open..].chars().next()?;
    let inner = &rest[open + 1..];
    Some(&inner[..inner.find(quote)?])
}

/// A name the code asked for that is not there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    /// `cannot import name 'X' from 'M'` and `module 'M' has no attribute 'X'`.
    NameInModule { name: String, module: String },
    /// `'C' object has no attribute 'X'`, `type object 'C' has no attribute 'X'`.
    Attribute { class: String, name: String },
    /// `name 'X' is not defined`.
    Name(String),
    /// `No module named 'M'`.
    Module(String),
    /// pytest's `fixture 'X' not found`.
    Fixture(String),
}

impl Missing {
    /// What `message` (a failure's one-line message) says is missing, by
    /// the wording of the exception that names it; `None` for any other message.
    pub fn from_message(message: &str) -> Option<Missing> {
        if message.contains("cannot import name ") {
            return Some(Missing::NameInModule {
                name: quoted_after(message, "cannot import name ")?.to_owned(),
                module: quoted_after(message, " from ")?.to_owned(),
            });
        }
        if message.contains(" has no attribute ") {
            let name = quoted_after(message, " has no attribute ")?.to_owned();
            if message.contains("module '") {
                let module = quoted_after(message, "module ")?;
                return Some(Missing::NameInModule {
                    name,
                    module: module.to_owned(),
                });
            }
            // `'C' object has no attribute`: the class is the first quoted name.
            let class = if message.contains("type object ") {
                quoted_after(message, "type object ")?
            } else {
                quoted_after(message, "")?
            };
            return Some(Missing::Attribute {
                class: class.to_owned(),
                name,
            });
        }
        if message.contains(" is not defined") {
            return Some(Missing::Name(quoted_after(message, "name ")?.to_owned()));
        }
        if message.contains("No module named ") {
            return Some(Missing::Module(
                quoted_after(message, "No module named ")?.to_owned(),
            ));
        }
        if message.contains("fixture ") && message.contains(" not found") {
            return Some(Missing::Fixture(
                quoted_after(message, "fixture ")?.to_owned(),
            ));
        }
        None
    }

    /// The missing name itself (for a module, its dotted name).
    pub fn name(&self) -> &str {
        match self {
            Missing::NameInModule { name, .. }
            | Missing::Attribute { name, .. }
            | Missing::Name(name)
            | Missing::Module(name)
            | Missing::Fixture(name) => name,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_wording() {
        let cases = [
            (
                "ImportError: cannot import name 'normalise_whitespace' from 'textkit.slug' (/w/slug.py)",
                Missing::NameInModule {
                    name: "normalise_whitespace".into(),
                    module: "textkit.slug".into(),
                },
            ),
            (
                "AttributeError: module 'shop.shipping' has no attribute 'compute_shipping'",
                Missing::NameInModule {
                    name: "compute_shipping".into(),
                    module: "shop.shipping".into(),
                },
            ),
            (
                "AttributeError: 'Inventory' object has no attribute '_items'",
                Missing::Attribute {
                    class: "Inventory".into(),
                    name: "_items".into(),
                },
            ),
            (
                "AttributeError: type object 'Color' has no attribute 'TEAL'",
                Missing::Attribute {
                    class: "Color".into(),
                    name: "TEAL".into(),
                },
            ),
            (
                "NameError: name 'math' is not defined",
                Missing::Name("math".into()),
            ),
            (
                "ModuleNotFoundError: No module named 'weather.units'",
                Missing::Module("weather.units".into()),
            ),
            (
                "fixture 'env_file' not found",
                Missing::Fixture("env_file".into()),
            ),
        ];
        for (message, expected) in cases {
            assert_eq!(
                Missing::from_message(message).as_ref(),
                Some(&expected),
                "{message}"
            );
        }
        assert_eq!(Missing::from_message("AssertionError: assert 1 == 2"), None);
        assert_eq!(Missing::Fixture("env_file".into()).name(), "env_file");
    }
}
