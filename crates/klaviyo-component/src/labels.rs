//! Labels for people made from Klaviyo's names: the titles of object types,
//! fields and metadata, and the labels errors quote, all made alike.

/// For people: `first_name` → `First Name`, `external_id` → `External ID`,
/// `catalog-items` → `Catalog Items`. The titles of the input metadata and
/// the labels errors quote are both made by this.
pub(crate) fn humanize(name: &str) -> String {
    // camelCase (the action's own members: statusCode) splits like snake_case.
    let mut spaced = String::with_capacity(name.len() + 4);
    let mut previous: Option<char> = None;
    for c in name.chars() {
        if c.is_uppercase() && previous.is_some_and(|p| p.is_lowercase() || p.is_ascii_digit()) {
            spaced.push(' ');
        }
        spaced.push(c);
        previous = Some(c);
    }
    spaced
        .split(['_', '-', '.', ' '])
        .filter(|w| !w.is_empty())
        .map(|w| match w {
            "id" | "Id" => "ID".to_owned(),
            "ids" | "Ids" => "IDs".to_owned(),
            "url" => "URL".to_owned(),
            "sms" => "SMS".to_owned(),
            "ip" => "IP".to_owned(),
            _ => {
                let mut chars = w.chars();
                match chars.next() {
                    Some(first) => first.to_uppercase().chain(chars).collect(),
                    None => String::new(),
                }
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_for_people() {
        let cases = [
            ("first_name", "First Name"),
            ("external_id", "External ID"),
            ("catalog-items", "Catalog Items"),
            ("_kx", "Kx"),
            ("value_currency", "Value Currency"),
            ("messages.channel", "Messages Channel"),
            ("sms", "SMS"),
            ("statusCode", "Status Code"),
            ("profileIds", "Profile IDs"),
            ("uniqueId", "Unique ID"),
        ];
        for (name, want) in cases {
            assert_eq!(humanize(name), want);
        }
    }
}
