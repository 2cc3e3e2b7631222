//! How to ask Klaviyo for one object type's changes, given what the
//! configured revision allows: which partitions to poll, which operators
//! bound the window, how results are ordered, how large a page to ask for.

use chrono::{DateTime, Duration, Utc};
use klaviyo_spec::{Collection, Operator};

use super::catalog::{CHANNEL_FIELD, required_fields};
use crate::Error;
use crate::filter::{Filter, Literal};
use crate::time::floor_seconds;

/// The channels a campaign can have, for revisions that need one channel per
/// query but do not list the values.
const CAMPAIGN_CHANNELS: &[&str] = &["email", "sms", "mobile_push"];

/// How results arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Filter from a watermark and sort ascending: each query starts where
    /// the last one stopped, so nothing shifts under the trigger.
    Keyset,
    /// Sort descending and stop below the watermark; the field cannot
    /// bound a query.
    Descending,
    /// Neither filter nor sort on the field: read everything.
    Scan,
}

/// How a record's polled value can move while a query pages through it:
/// what decides whether a walk through a crowded timestamp must be
/// repeated to prove nothing shifted (see keyset.rs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Movement {
    /// Set to the time of every change (`updated`): a changed record jumps
    /// to now, where a query for recent changes finds it.
    ToNow,
    /// Never changes (`created`, an event's `datetime`).
    Never,
    /// May change to any value (`scheduled_at`).
    Anywhere,
}

impl Movement {
    fn of(field: &str) -> Movement {
        match field {
            "updated" | "updated_at" => Movement::ToNow,
            "created" | "created_at" | "datetime" => Movement::Never,
            _ => Movement::Anywhere,
        }
    }
}

/// A request for one page of a collection: the path under the API and the
/// query's parameters, which the client turns into a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub path: &'static str,
    pub params: Vec<(&'static str, String)>,
}

impl Query {
    /// The parameters as the client takes them.
    pub fn pairs(&self) -> Vec<(&str, &str)> {
        self.params.iter().map(|(k, v)| (*k, v.as_str())).collect()
    }
}

/// One independent stream of results: a channel of campaigns, the archived
/// or unarchived flows, or the whole collection.
#[derive(Debug, Clone, PartialEq)]
pub struct Partition {
    /// `messages.channel=email, archived=false`; empty for the whole
    /// collection. Kept in snapshots to resume the right partition.
    pub label: String,
    conditions: Vec<(&'static str, Literal)>,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub collection: &'static Collection,
    pub field: &'static str,
    pub partitions: Vec<Partition>,
    pub strategy: Strategy,
    pub movement: Movement,
    lower: Option<Operator>,
    upper: Option<Operator>,
    page_size: Option<u32>,
}

impl Plan {
    pub fn new(collection: &'static Collection, field: &'static str) -> Plan {
        let lower = [Operator::GreaterOrEqual, Operator::GreaterThan]
            .into_iter()
            .find(|op| collection.allows(field, *op));
        let upper = [Operator::LessThan, Operator::LessOrEqual]
            .into_iter()
            .find(|op| collection.allows(field, *op));
        let strategy = if lower.is_some() && collection.can_sort(field) {
            Strategy::Keyset
        } else if collection.can_sort(&format!("-{field}")) {
            Strategy::Descending
        } else {
            Strategy::Scan
        };
        Plan {
            collection,
            field,
            partitions: partitions(collection),
            strategy,
            movement: Movement::of(field),
            lower,
            upper,
            // The largest page the revision lets us ask for; without the
            // parameter Klaviyo's fixed size applies.
            page_size: collection.page_size.map(|p| p.max),
        }
    }

    /// The first page of a query in `partition` for records whose field is
    /// at or after `from` (when the field can be filtered that way) and
    /// before `to` (when it can be bounded), ordered as the strategy reads
    /// the collection.
    pub fn query(
        &self,
        partition: &Partition,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Query, Error> {
        let sort = match self.strategy {
            Strategy::Keyset => Some(self.field.to_owned()),
            Strategy::Descending => Some(format!("-{}", self.field)),
            Strategy::Scan => None,
        };
        self.build(partition, Some(from), Some(to), sort)
    }

    /// A query for the records of `partition` whose field is at or after
    /// `since`: with a field that moves to now on every change, the records
    /// changed since then. Sorted like every other query of the field,
    /// which lets Klaviyo answer from the same index.
    pub fn changes_since(
        &self,
        partition: &Partition,
        since: DateTime<Utc>,
    ) -> Result<Query, Error> {
        let sort = (self.strategy == Strategy::Keyset).then(|| self.field.to_owned());
        self.build(partition, Some(since), None, sort)
    }

    fn build(
        &self,
        partition: &Partition,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        sort: Option<String>,
    ) -> Result<Query, Error> {
        let mut filter = Filter::new();
        for (field, value) in &partition.conditions {
            filter = filter.and(Operator::Equals, field, value.clone());
        }
        if let (Some(from), Some(op)) = (from, self.lower) {
            // A saved position from before 1970 (an old snapshot) would make a
            // filter Klaviyo cannot read; nothing is that old.
            let from = from.max(DateTime::UNIX_EPOCH);
            // Filters take whole seconds: round down (and a second more for
            // greater-than) so nothing at `from` is left out; what comes
            // back before `from` is dropped by the watermark.
            let bound = match op {
                Operator::GreaterThan => floor_seconds(from) - Duration::seconds(1),
                _ => floor_seconds(from),
            };
            filter = filter.and(op, self.field, Literal::DateTime(bound));
        }
        if let (Some(to), Some(op)) = (to, self.upper) {
            filter = filter.and(op, self.field, Literal::DateTime(floor_seconds(to)));
        }
        let unsupported = filter.unsupported_by(self.collection);
        if !unsupported.is_empty() {
            return Err(Error::internal(format!(
                "the trigger built a filter {} does not accept: {}",
                self.collection.path,
                unsupported.join(", ")
            )));
        }
        let mut params: Vec<(&'static str, String)> = Vec::new();
        if !filter.is_empty() {
            params.push(("filter", filter.to_string()));
        }
        if let Some(sort) = sort {
            params.push(("sort", sort));
        }
        if let Some(size) = self.page_size {
            params.push(("page[size]", size.to_string()));
        }
        for (name, _) in &params {
            if !self.collection.declares(name) {
                return Err(Error::internal(format!(
                    "{} does not declare the parameter {name} in this revision",
                    self.collection.path
                )));
            }
        }
        Ok(Query {
            path: self.collection.path,
            params,
        })
    }

    /// The partition a snapshot names by its label.
    pub fn partition_index(&self, label: &str) -> Option<usize> {
        self.partitions.iter().position(|p| p.label == label)
    }
}

/// The partitions of a collection: one per campaign channel when a channel
/// filter is required, times archived/unarchived when the collection can
/// filter on `archived` (Klaviyo leaves archived campaigns and flows out
/// unless asked for them).
fn partitions(collection: &Collection) -> Vec<Partition> {
    let mut dimensions: Vec<Vec<(&'static str, Literal)>> = Vec::new();
    if required_fields(collection).contains(&CHANNEL_FIELD) {
        let declared = collection
            .filter_field(CHANNEL_FIELD)
            .map(|f| f.values)
            .unwrap_or(&[]);
        let channels = if declared.is_empty() {
            CAMPAIGN_CHANNELS
        } else {
            declared
        };
        dimensions.push(
            channels
                .iter()
                .map(|c| (CHANNEL_FIELD, Literal::Text((*c).to_owned())))
                .collect(),
        );
    }
    if collection.allows("archived", Operator::Equals) {
        dimensions.push(vec![
            ("archived", Literal::Bool(false)),
            ("archived", Literal::Bool(true)),
        ]);
    }
    let mut combos: Vec<Vec<(&'static str, Literal)>> = vec![Vec::new()];
    for options in dimensions {
        combos = combos
            .into_iter()
            .flat_map(|combo| {
                options.iter().map(move |option| {
                    let mut next = combo.clone();
                    next.push(option.clone());
                    next
                })
            })
            .collect();
    }
    combos
        .into_iter()
        .map(|conditions| Partition {
            label: conditions
                .iter()
                .map(|(f, v)| format!("{f}={}", plain(v)))
                .collect::<Vec<_>>()
                .join(", "),
            conditions,
        })
        .collect()
}

fn plain(value: &Literal) -> String {
    match value {
        Literal::Text(t) => t.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(revision: &str, path: &str, field: &'static str) -> Plan {
        let spec = klaviyo_spec::for_revision(revision);
        Plan::new(spec.collection(path).expect(path), field)
    }

    fn labels(plan: &Plan) -> Vec<&str> {
        plan.partitions.iter().map(|p| p.label.as_str()).collect()
    }

    #[test]
    fn strategies_follow_what_each_endpoint_allows() {
        let cases = [
            (
                "2024-10-15",
                "/profiles",
                "updated",
                Strategy::Keyset,
                Some(Operator::GreaterThan),
                Some(Operator::LessThan),
            ),
            (
                "2024-10-15",
                "/events",
                "datetime",
                Strategy::Keyset,
                Some(Operator::GreaterOrEqual),
                Some(Operator::LessThan),
            ),
            (
                "2024-10-15",
                "/lists",
                "updated",
                Strategy::Keyset,
                Some(Operator::GreaterThan),
                None,
            ),
            (
                "2024-10-15",
                "/reviews",
                "created",
                Strategy::Keyset,
                Some(Operator::GreaterOrEqual),
                Some(Operator::LessOrEqual),
            ),
            (
                "2024-10-15",
                "/reviews",
                "updated",
                Strategy::Descending,
                None,
                None,
            ),
            (
                "2024-10-15",
                "/catalog-items",
                "created",
                Strategy::Descending,
                None,
                None,
            ),
            (
                "2026-07-15",
                "/catalog-items",
                "updated",
                Strategy::Scan,
                None,
                None,
            ),
            (
                "2024-10-15",
                "/metrics",
                "updated",
                Strategy::Scan,
                None,
                None,
            ),
        ];
        for (revision, path, field, strategy, lower, upper) in cases {
            let p = plan(revision, path, field);
            assert_eq!(
                (p.strategy, p.lower, p.upper),
                (strategy, lower, upper),
                "{revision} {path} {field}"
            );
        }
    }

    #[test]
    fn partitions_per_revision() {
        assert_eq!(
            labels(&plan("2024-10-15", "/campaigns", "updated_at")),
            vec![
                "messages.channel=email, archived=false",
                "messages.channel=email, archived=true",
                "messages.channel=sms, archived=false",
                "messages.channel=sms, archived=true",
                "messages.channel=mobile_push, archived=false",
                "messages.channel=mobile_push, archived=true",
            ]
        );
        assert_eq!(
            labels(&plan("2026-10-15", "/campaigns", "updated_at")),
            vec!["archived=false", "archived=true"]
        );
        assert_eq!(
            labels(&plan("2024-10-15", "/flows", "updated")),
            vec!["archived=false", "archived=true"]
        );
        assert_eq!(
            labels(&plan("2024-10-15", "/profiles", "updated")),
            vec![""]
        );
    }

    #[test]
    fn page_sizes_only_where_declared() {
        assert_eq!(
            plan("2024-10-15", "/profiles", "updated").page_size,
            Some(100)
        );
        assert_eq!(plan("2024-10-15", "/lists", "updated").page_size, None);
        assert_eq!(plan("2026-07-15", "/lists", "updated").page_size, Some(10));
        assert_eq!(
            plan("2026-07-15", "/events", "datetime").page_size,
            Some(1000)
        );
    }
}
