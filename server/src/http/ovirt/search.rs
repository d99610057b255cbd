//! oVirt's `search=` language, the part scripts use: `field=value` and `field!=value`
//! conditions joined by `and`, `or` or a plain space (an `and`), values optionally in double
//! quotes, `*` as a wildcard (and `?` for one character), an optional `Type:` prefix. `and`
//! binds tighter than `or`. `sortby` and `page` are refused: lists keep Uplift's order.
//!
//! Pure: a [`Search`] is parsed for a collection's fields and matched against its records
//! ([`Fields`]); which fields a collection has is the resource module's business.

use wildmatch::WildMatch;

/// A parsed search: any of these groups, each group all of its conditions.
#[derive(Debug)]
pub struct Search {
    groups: Vec<Vec<Condition>>,
}

#[derive(Debug)]
struct Condition {
    field: String,
    negated: bool,
    pattern: WildMatch,
}

/// A record searched: the values of a field (none when the record has none).
pub trait Fields {
    /// The fields this collection can be searched by.
    const NAMES: &'static [&'static str];

    /// The values of one of [`Fields::NAMES`] (empty when the record has none).
    fn field(&self, name: &str) -> Vec<String>;
}

impl Search {
    /// Parses a search over the fields `names`; the reason when it cannot be read or names
    /// another field.
    pub fn parse(text: &str, names: &[&str]) -> Result<Search, String> {
        let mut groups = vec![Vec::new()];
        let mut first = true;
        for word in words(text)? {
            if first && word.ends_with(':') && !word.contains('=') {
                first = false;
                continue;
            }
            first = false;
            match word.to_ascii_lowercase().as_str() {
                "and" => continue,
                "or" => {
                    groups.push(Vec::new());
                    continue;
                }
                "sortby" | "page" => {
                    return Err(format!(
                        "\"{word}\" is not supported in searches here: lists keep their order."
                    ))
                }
                _ => {}
            }
            let condition = condition(&word)?;
            if !names.contains(&condition.field.as_str()) {
                return Err(format!(
                    "This collection cannot be searched by {:?}; it can by {}.",
                    condition.field,
                    names.join(", ")
                ));
            }
            if let Some(group) = groups.last_mut() {
                group.push(condition);
            }
        }
        if groups.iter().any(Vec::is_empty) && groups.len() > 1 {
            return Err(format!(
                "The search {text:?} has an empty side of an \"or\"."
            ));
        }
        Ok(Search { groups })
    }

    /// Whether a record matches.
    pub fn matches(&self, record: &impl Fields) -> bool {
        self.groups.iter().any(|group| {
            group.iter().all(|condition| {
                let hit = record
                    .field(&condition.field)
                    .iter()
                    .any(|v| condition.pattern.matches(&v.to_lowercase()));
                hit != condition.negated
            })
        })
    }
}

/// Splits on spaces outside double quotes, keeping the quotes.
fn words(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    for ch in text.chars() {
        match ch {
            '"' => {
                quoted = !quoted;
                word.push(ch);
            }
            c if c.is_whitespace() && !quoted => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if quoted {
        return Err(format!("The search {text:?} has an unclosed quote."));
    }
    if !word.is_empty() {
        words.push(word);
    }
    Ok(words)
}

fn condition(word: &str) -> Result<Condition, String> {
    let (field, negated, value) = if let Some((field, value)) = word.split_once("!=") {
        (field, true, value)
    } else if let Some((field, value)) = word.split_once('=') {
        (field, false, value)
    } else {
        return Err(format!(
            "{word:?} is not a condition: searches here are field=value or field!=value."
        ));
    };
    let field = field.trim().to_ascii_lowercase();
    if field.is_empty() || field.contains(['<', '>']) {
        return Err(format!(
            "{word:?} is not a condition: searches here are field=value or field!=value."
        ));
    }
    let value = value.trim();
    let value = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value)
        .to_lowercase();
    Ok(Condition {
        pattern: WildMatch::new(&value),
        field,
        negated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Host {
        name: &'static str,
        cluster: &'static str,
        status: &'static str,
        updates: bool,
    }

    impl Fields for Host {
        const NAMES: &'static [&'static str] = &["name", "cluster", "status", "update_available"];

        fn field(&self, name: &str) -> Vec<String> {
            vec![match name {
                "name" => self.name.to_string(),
                "cluster" => self.cluster.to_string(),
                "status" => self.status.to_string(),
                _ => self.updates.to_string(),
            }]
        }
    }

    const HOSTS: [Host; 3] = [
        Host {
            name: "kvm-01",
            cluster: "Default",
            status: "up",
            updates: true,
        },
        Host {
            name: "kvm-02",
            cluster: "Default",
            status: "maintenance",
            updates: false,
        },
        Host {
            name: "db-01",
            cluster: "Prod",
            status: "up",
            updates: true,
        },
    ];

    fn names(search: &str) -> Vec<&'static str> {
        let search = Search::parse(search, Host::NAMES).expect("a search");
        HOSTS
            .iter()
            .filter(|h| search.matches(*h))
            .map(|h| h.name)
            .collect()
    }

    #[test]
    fn conditions_quotes_wildcards_and_case() {
        assert_eq!(names("name=kvm-01"), ["kvm-01"]);
        assert_eq!(names("name=\"KVM-01\""), ["kvm-01"]);
        assert_eq!(names("name=kvm*"), ["kvm-01", "kvm-02"]);
        assert_eq!(names("name=*"), ["kvm-01", "kvm-02", "db-01"]);
        assert_eq!(names("status!=up"), ["kvm-02"]);
        assert_eq!(names("Hosts: status=UP"), ["kvm-01", "db-01"]);
    }

    #[test]
    fn and_or_and_the_spaces_the_ansible_role_sends() {
        assert_eq!(
            names("cluster=Default and update_available=true"),
            ["kvm-01"]
        );
        assert_eq!(
            names("cluster=Default update_available=true name=* status=up"),
            ["kvm-01"]
        );
        assert_eq!(
            names("name=db-01 or status=maintenance"),
            ["kvm-02", "db-01"]
        );
        assert_eq!(
            names("cluster=Prod or cluster=Default and status=maintenance"),
            ["kvm-02", "db-01"]
        );
        assert_eq!(names(""), ["kvm-01", "kvm-02", "db-01"]);
    }

    #[test]
    fn what_cannot_be_read_is_a_reason() {
        for bad in [
            "name",
            "name=\"kvm",
            "=x",
            "memory>5",
            "name=a or",
            "or name=a",
            "status=up sortby name",
            "status=up page 2",
            "color=red",
            "name=a or color=red",
        ] {
            assert!(Search::parse(bad, Host::NAMES).is_err(), "{bad}");
        }
    }
}
