//! Hand-written generators for the attributes that matter to a connector:
//! names, emails, channels, archived flags, statuses, the timestamps. Each
//! value is a pure function of the record (slot hash and stored instants), so
//! rendering a page and evaluating a filter always agree.

use serde_json::{Value, json};

use super::seed::{IdShape, child, make_id, mix, pick, unit, uuid, whole};
use super::{Gen, Kind, Obj, Record, TimeFields, Which, words};
use crate::time::{MICROS_PER_SEC, Micros, Style};

/// Ids of other collections, for relationships (an event's profile and
/// metric, a campaign's audience lists).
pub(crate) trait Refs {
    /// The id of some live record of the collection at `path`, chosen by `h`.
    fn pick_id(&self, path: &str, h: u64) -> Option<String>;
}

/// Everything a generator may look at for one record.
pub(crate) struct Ctx<'a> {
    pub kind: Kind,
    pub tf: TimeFields,
    /// Hash of (seed, collection, slot); fields hash their path onto it.
    pub base: u64,
    pub slot: u32,
    pub rec: &'a Record,
    /// The newest instant of generated data ("now" at generation).
    pub anchor: Micros,
    pub refs: &'a dyn Refs,
}

/// How an instant stored with or without a fraction is written.
pub(crate) fn style_of(t: Micros) -> Style {
    if t % MICROS_PER_SEC == 0 {
        Style::Plain
    } else {
        Style::Fraction
    }
}

/// Whether a nullable attribute without a hand-written generator is null for
/// this record (about one in seven; never the name or an id).
pub(crate) fn nullable_gap(ctx: &Ctx<'_>, name: &str, h: u64) -> bool {
    let _ = ctx;
    !(name == "name" || name.contains("id") || name.contains("created") || name.contains("updated"))
        && unit(mix(h ^ 0x6e75_6c6c)) < 0.15
}

/// The hand-written value at `path` (dotted), if the generator owns it.
pub(crate) fn attr(ctx: &Ctx<'_>, path: &str, h: u64) -> Option<Gen> {
    if let Some(t) = instant(ctx, path) {
        return Some(t);
    }
    match ctx.kind {
        Kind::Profiles => profile(ctx, path, h),
        Kind::Events => event(ctx, path),
        Kind::Metrics => metric(ctx, path),
        Kind::Lists => list(ctx, path),
        Kind::Segments => segment(ctx, path),
        Kind::Campaigns => campaign(ctx, path),
        Kind::Flows => flow(ctx, path),
        Kind::Templates => email_template(ctx, path),
        Kind::UniversalContent | Kind::WebFeeds | Kind::Forms => content(ctx, path),
        Kind::Images => image(ctx, path),
        Kind::Reviews => review(ctx, path),
        Kind::CatalogItems | Kind::CatalogVariants | Kind::CatalogCategories => catalog(ctx, path),
        Kind::Tags => tag(ctx, path),
        Kind::TagGroups => tag_group(ctx, path),
        Kind::Coupons => coupon(ctx, path),
        Kind::CouponCodes => coupon_code(ctx, path),
        Kind::Accounts => account(path),
        Kind::Generic => None,
    }
}

/// The record's stored instants, as its created-like and updated-like
/// attributes; events' `datetime` is sometimes written with a space
/// (Klaviyo's own sorting guide shows `2023-07-24 20:15:57+00:00`) and
/// their `timestamp` is whole Unix seconds.
fn instant(ctx: &Ctx<'_>, path: &str) -> Option<Gen> {
    let (c, u) = (ctx.rec.created, ctx.rec.updated);
    if ctx.kind == Kind::Events {
        match path {
            "datetime" => {
                let style = if pick(child(ctx.base, "dt-style"), 4) == 0 {
                    Style::Space
                } else {
                    style_of(c)
                };
                return Some(Gen::Time(c, style));
            }
            "timestamp" => return Some(Gen::Int(c.div_euclid(MICROS_PER_SEC))),
            _ => {}
        }
    }
    let t = if ctx.tf.which(path)? == Which::Created {
        c
    } else {
        u
    };
    Some(Gen::Time(t, style_of(t)))
}

/// A metric: its name and integration.
fn metric(ctx: &Ctx<'_>, path: &str) -> Option<Gen> {
    let r = |tag: &str| child(ctx.base, tag);
    match path {
        "name" => Some(Gen::Str(numbered(words::METRIC_NAMES, ctx.slot))),
        "integration" => {
            let (name, category) =
                words::INTEGRATIONS[pick(r("integration"), words::INTEGRATIONS.len())];
            Some(Gen::Json(json!({
                "object": "integration",
                "id": make_id(IdShape::Short, 0, fnv_str(name), 0, ""),
                "name": name,
                "category": category,
            })))
        }
        _ => None,
    }
}

/// A list: its name and opt-in process.
fn list(ctx: &Ctx<'_>, path: &str) -> Option<Gen> {
    let r = |tag: &str| child(ctx.base, tag);
    match path {
        "name" => Some(Gen::Str(titled(&r("name"), words::LIST_NOUNS))),
        "opt_in_process" => Some(Gen::Static(if pick(r("optin"), 3) == 0 {
            "single_opt_in"
        } else {
            "double_opt_in"
        })),
        _ => None,
    }
}

/// A segment: its name and flags.
fn segment(ctx: &Ctx<'_>, path: &str) -> Option<Gen> {
    let r = |tag: &str| child(ctx.base, tag);
    match path {
        "name" => Some(Gen::Str(titled(&r("name"), words::LIST_NOUNS))),
        "is_active" => Some(Gen::Bool(unit(r("active")) < 0.9)),
        "is_processing" => Some(Gen::Bool(unit(r("processing")) < 0.05)),
        "is_starred" => Some(Gen::Bool(unit(r("starred")) < 0.15)),
        _ => None,
    }
}

/// A flow: name, status, archived flag, trigger.
fn flow(ctx: &Ctx<'_>, path: &str) -> Option<Gen> {
    let r = |tag: &str| child(ctx.base, tag);
    match path {
        "name" => Some(Gen::Str(numbered(words::FLOW_NAMES, ctx.slot))),
        "status" => Some(Gen::Static(
            ["draft", "manual", "live", "live"][pick(r("status"), 4)],
        )),
        "archived" => Some(Gen::Bool(flow_archived(ctx))),
        "trigger_type" => Some(Gen::Static(
            words::TRIGGER_TYPES[pick(r("trigger"), words::TRIGGER_TYPES.len())],
        )),
        _ => None,
    }
}

/// An email template: name, editor, HTML and text.
fn email_template(ctx: &Ctx<'_>, path: &str) -> Option<Gen> {
    let r = |tag: &str| child(ctx.base, tag);
    match path {
        "name" => Some(Gen::Str(format!(
            "{} template",
            titled(&r("name"), words::CAMPAIGN_NOUNS)
        ))),
        "editor_type" => Some(Gen::Static(
            ["CODE", "SYSTEM_DRAGGABLE", "USER_DRAGGABLE"][pick(r("editor"), 3)],
        )),
        "html" => Some(Gen::Str(format!(
            "<html><body><h1>{}</h1><p>Hello {{{{ first_name|default:'there' }}}}</p></body></html>",
            titled(&r("name"), words::CAMPAIGN_NOUNS)
        ))),
        "text" => Some(Gen::Str(format!(
            "{} — plain text version",
            titled(&r("name"), words::CAMPAIGN_NOUNS)
        ))),
        _ => None,
    }
}

/// Universal content blocks, web feeds and forms: names and flags.
fn content(ctx: &Ctx<'_>, path: &str) -> Option<Gen> {
    let r = |tag: &str| child(ctx.base, tag);
    match path {
        "name" => Some(Gen::Str(match ctx.kind {
            Kind::Forms => format!(
                "{} Popup",
                words::ADJECTIVES[pick(r("name"), words::ADJECTIVES.len())]
            ),
            Kind::WebFeeds => format!(
                "{} Feed",
                words::CATEGORIES[pick(r("name"), words::CATEGORIES.len())]
            ),
            _ => format!(
                "{} Block {}",
                words::ADJECTIVES[pick(r("name"), words::ADJECTIVES.len())],
                ctx.slot
            ),
        })),
        "status" if ctx.kind == Kind::Forms => Some(Gen::Static(if unit(r("status")) < 0.6 {
            "live"
        } else {
            "draft"
        })),
        "ab_test" => Some(Gen::Bool(unit(r("ab")) < 0.2)),
        "url" => Some(Gen::Str(format!(
            "https://shop.example.com/feeds/{}.json",
            ctx.slot
        ))),
        _ => None,
    }
}

/// An image: name, format, URL, size.
fn image(ctx: &Ctx<'_>, path: &str) -> Option<Gen> {
    let r = |tag: &str| child(ctx.base, tag);
    match path {
        "name" => Some(Gen::Str(format!(
            "product-{}.{}",
            ctx.slot,
            image_format(ctx)
        ))),
        "format" => Some(Gen::Static(image_format(ctx))),
        "image_url" => Some(Gen::Str(format!(
            "https://d3k81ch9hvuctc.cloudfront.net/company/AbC123/images/{}.{}",
            uuid(r("img")),
            image_format(ctx)
        ))),
        "size" => Some(Gen::Int(20_000 + (r("size") % 2_000_000) as i64)),
        "hidden" => Some(Gen::Bool(unit(r("hidden")) < 0.05)),
        _ => None,
    }
}

/// A product review: rating, author, text.
fn review(ctx: &Ctx<'_>, path: &str) -> Option<Gen> {
    let r = |tag: &str| child(ctx.base, tag);
    match path {
        "rating" => Some(Gen::Int(1 + [0, 1, 2, 3, 3, 4, 4, 4][pick(r("rating"), 8)])),
        "email" => Some(Gen::Str(email(ctx))),
        "author" => Some(Gen::Str(format!(
            "{} {}.",
            first_name(ctx),
            &last_name(ctx)[..1]
        ))),
        "verified" => Some(Gen::Bool(unit(r("verified")) < 0.8)),
        "content" => Some(Gen::Str(
            [
                "Love it, fits perfectly.",
                "Great quality for the price.",
                "Arrived late but works.",
                "Not what I expected.",
            ][pick(r("content"), 4)]
            .to_owned(),
        )),
        _ => None,
    }
}

/// A tag: its name.
fn tag(ctx: &Ctx<'_>, path: &str) -> Option<Gen> {
    match path {
        "name" => Some(Gen::Str(numbered(words::CATEGORIES, ctx.slot))),
        _ => None,
    }
}

/// A tag group: its name and whether it is the default.
fn tag_group(ctx: &Ctx<'_>, path: &str) -> Option<Gen> {
    match path {
        "name" => Some(Gen::Str(numbered(
            &["Seasonal", "Channel", "Audience", "Region", "Team"],
            ctx.slot,
        ))),
        "default" => Some(Gen::Bool(ctx.slot == 0)),
        _ => None,
    }
}

/// A coupon: external id and description.
fn coupon(ctx: &Ctx<'_>, path: &str) -> Option<Gen> {
    let r = |tag: &str| child(ctx.base, tag);
    match path {
        "external_id" => Some(Gen::Str(external_id(ctx.kind, ctx.slot))),
        "description" => Some(Gen::Str(format!(
            "{}% off everything",
            5 + 5 * pick(r("pct"), 6)
        ))),
        _ => None,
    }
}

/// A coupon code: the code and whose it is.
fn coupon_code(ctx: &Ctx<'_>, path: &str) -> Option<Gen> {
    let r = |tag: &str| child(ctx.base, tag);
    match path {
        "unique_code" => Some(Gen::Str(format!("{:08X}", r("code") & 0xffff_ffff))),
        "coupon.id" => ctx.refs.pick_id("/coupons", r("coupon")).map(Gen::Str),
        "profile.id" => ctx.refs.pick_id("/profiles", r("profile")).map(Gen::Str),
        _ => None,
    }
}

/// The account: fixed settings of a plausible shop.
fn account(path: &str) -> Option<Gen> {
    match path {
        "test_account" => Some(Gen::Bool(false)),
        "public_api_key" => Some(Gen::Static("AbC123")),
        "timezone" => Some(Gen::Static("America/New_York")),
        "preferred_currency" => Some(Gen::Static("USD")),
        "locale" => Some(Gen::Static("en-US")),
        "industry" => Some(Gen::Static("Apparel & Accessories")),
        "contact_information" => Some(Gen::Json(json!({
            "default_sender_name": "Blue Fern Goods",
            "default_sender_email": "hello@bluefern.example.com",
            "website_url": "https://bluefern.example.com",
            "organization_name": "Blue Fern Goods",
            "street_address": {"address1": "125 Summer St", "address2": null, "city": "Boston",
                "region": "MA", "country": "US", "zip": "02110"}
        }))),
        _ => None,
    }
}

fn fnv_str(s: &str) -> u64 {
    super::seed::fnv(s)
}

fn numbered(list: &[&str], slot: u32) -> String {
    let i = slot as usize;
    let base = list[i % list.len()];
    if i < list.len() {
        base.to_owned()
    } else {
        format!("{base} {}", i / list.len() + 1)
    }
}

fn titled(h: &u64, nouns: &[&str]) -> String {
    format!(
        "{} {}",
        words::ADJECTIVES[pick(*h, words::ADJECTIVES.len())],
        nouns[pick(mix(*h), nouns.len())]
    )
}

pub(crate) fn first_name(ctx: &Ctx<'_>) -> &'static str {
    words::FIRST_NAMES[pick(child(ctx.base, "first_name"), words::FIRST_NAMES.len())]
}

pub(crate) fn last_name(ctx: &Ctx<'_>) -> &'static str {
    words::LAST_NAMES[pick(child(ctx.base, "last_name"), words::LAST_NAMES.len())]
}

/// `sarah.smith482@gmail.com`: unique thanks to the slot.
fn email(ctx: &Ctx<'_>) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_ascii_alphabetic())
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    format!(
        "{}.{}{}@{}",
        clean(first_name(ctx)),
        clean(last_name(ctx)),
        ctx.slot,
        words::DOMAINS[pick(child(ctx.base, "domain"), words::DOMAINS.len())]
    )
}

fn profile(ctx: &Ctx<'_>, path: &str, h: u64) -> Option<Gen> {
    let r = |tag: &str| child(ctx.base, tag);
    let chance = |tag: &str, p: f64| unit(r(tag)) < p;
    let has_phone = chance("has_phone", 0.45);
    Some(match path {
        // A few profiles are phone-only, as SMS sign-ups are.
        "email" => {
            if has_phone && chance("phone_only", 0.08) {
                Gen::Null
            } else {
                Gen::Str(email(ctx))
            }
        }
        "phone_number" => {
            if has_phone {
                Gen::Str(format!(
                    "+1{}{:07}",
                    [617, 512, 303, 206, 415][pick(r("area"), 5)],
                    r("phone") % 10_000_000
                ))
            } else {
                Gen::Null
            }
        }
        "external_id" => {
            if chance("has_external", 0.3) {
                Gen::Str(format!(
                    "{}",
                    100_000 + u64::from(ctx.slot) * 3 + r("ext") % 3
                ))
            } else {
                Gen::Null
            }
        }
        "first_name" => opt(!chance("no_first", 0.05), || Gen::Static(first_name(ctx))),
        "last_name" => opt(!chance("no_last", 0.07), || Gen::Static(last_name(ctx))),
        "organization" => opt(chance("org", 0.2), || {
            Gen::Static(words::ORGANIZATIONS[pick(r("org_name"), words::ORGANIZATIONS.len())])
        }),
        "locale" => opt(chance("locale", 0.35), || {
            Gen::Static(words::LOCALES[pick(r("locale_v"), words::LOCALES.len())])
        }),
        "title" => opt(chance("title", 0.1), || {
            Gen::Static(words::TITLES[pick(r("title_v"), words::TITLES.len())])
        }),
        "image" => opt(chance("image", 0.03), || {
            Gen::Str(format!(
                "https://images.example.com/avatars/{}.jpg",
                ctx.slot
            ))
        }),
        "last_event_date" => opt(chance("active", 0.7), || {
            let span = (ctx.anchor - ctx.rec.created).max(0) as f64;
            Gen::Time(
                whole(ctx.rec.created + (unit(h) * span) as Micros),
                Style::Plain,
            )
        }),
        "location" => location(ctx),
        "properties" => custom_properties(ctx),
        _ => return None,
    })
}

/// Where a profile lives: an address of a real place, or every member null
/// (as Klaviyo serves profiles without a location).
fn location(ctx: &Ctx<'_>) -> Gen {
    let r = |tag: &str| child(ctx.base, tag);
    let chance = |tag: &str, p: f64| unit(r(tag)) < p;
    if !chance("has_location", 0.75) {
        return Gen::Raw(
                br#"{"address1":null,"address2":null,"city":null,"country":null,"ip":null,"latitude":null,"longitude":null,"region":null,"timezone":null,"zip":null}"#.to_vec(),
        );
    }
    let (city, region, country, zip, tz, lat, lon) =
        words::PLACES[pick(r("place"), words::PLACES.len())];
    let apt = chance("apt", 0.2).then(|| format!("Apt {}", 1 + r("apt_no") % 40));
    Obj::new()
        .str(
            "address1",
            &format!(
                "{} {}",
                1 + r("house") % 900,
                words::STREETS[pick(r("street"), words::STREETS.len())]
            ),
        )
        .opt_str("address2", apt.as_deref())
        .str("city", city)
        .str("country", country)
        .str(
            "ip",
            &format!(
                "{}.{}.{}.{}",
                23 + r("ip") % 200,
                r("ip2") % 256,
                r("ip3") % 256,
                1 + r("ip4") % 254
            ),
        )
        .num("latitude", lat)
        .num("longitude", lon)
        .str("region", region)
        .str("timezone", tz)
        .str("zip", zip)
        .done()
}

/// A profile's custom `properties`, as shops' integrations set them.
fn custom_properties(ctx: &Ctx<'_>) -> Gen {
    let r = |tag: &str| child(ctx.base, tag);
    let chance = |tag: &str, p: f64| unit(r(tag)) < p;
    let mut o = Obj::new();
    if chance("p_source", 0.6) {
        o = o.str(
            "$source",
            ["Shopify", "API", "Sign-up form", "CSV import"][pick(r("src"), 4)],
        );
    }
    if chance("p_marketing", 0.5) {
        o = o.raw(
            "Accepts Marketing",
            if chance("p_accepts", 0.7) {
                b"true"
            } else {
                b"false"
            },
        );
    }
    if chance("p_tags", 0.3) {
        o = o.raw(
            "Shopify Tags",
            [&br#"["vip"]"#[..], br#"["vip","wholesale"]"#][pick(r("tags"), 2)],
        );
    }
    if chance("p_birthday", 0.2) {
        o = o.str(
            "Birthday",
            &format!(
                "19{:02}-{:02}-{:02}",
                60 + r("by") % 40,
                1 + r("bm") % 12,
                1 + r("bd") % 28
            ),
        );
    }
    o.done()
}

fn opt(present: bool, f: impl FnOnce() -> Gen) -> Gen {
    if present { f() } else { Gen::Null }
}

fn event(ctx: &Ctx<'_>, path: &str) -> Option<Gen> {
    let r = |tag: &str| child(ctx.base, tag);
    Some(match path {
        "uuid" => Gen::Str(uuid(r("uuid"))),
        "event_properties" => {
            let product = words::PRODUCTS[pick(r("product"), words::PRODUCTS.len())];
            let value = ((r("value") % 40_000) as f64) / 100.0 + 5.0;
            Gen::Json(json!({
                "$value": value,
                "$event_id": format!("{}", 4_000_000_000u64 + r("event_id") % 1_000_000_000),
                "$currency_code": "USD",
                "ItemNames": [product],
                "Items": [{"ProductName": product, "Quantity": 1 + r("qty") % 3, "ItemPrice": value}],
                "$extra": {"Source": "web"}
            }))
        }
        "metric_id" => return ctx.refs.pick_id("/metrics", r("metric")).map(Gen::Str),
        "profile_id" => return ctx.refs.pick_id("/profiles", r("profile")).map(Gen::Str),
        // `has(profile)`, `has(metric)`
        "profile" | "metric" => Gen::Bool(true),
        _ => return None,
    })
}

/// The channel of a generated campaign: mostly email, some SMS, a little push.
pub(crate) fn campaign_channel(ctx: &Ctx<'_>) -> &'static str {
    let u = unit(child(ctx.base, "channel"));
    if u < 0.6 {
        "email"
    } else if u < 0.9 {
        "sms"
    } else {
        "mobile_push"
    }
}

fn campaign_archived(ctx: &Ctx<'_>) -> bool {
    unit(child(ctx.base, "archived")) < 0.15
}

fn flow_archived(ctx: &Ctx<'_>) -> bool {
    unit(child(ctx.base, "archived")) < 0.12
}

fn campaign(ctx: &Ctx<'_>, path: &str) -> Option<Gen> {
    let r = |tag: &str| child(ctx.base, tag);
    let status = [
        "Draft",
        "Scheduled",
        "Sent",
        "Sent",
        "Sent",
        "Cancelled",
        "Sending",
    ][pick(r("status"), 7)];
    let sent_at = || {
        whole(
            ctx.rec.created
                + (unit(r("sent")) * (ctx.rec.updated - ctx.rec.created) as f64) as Micros,
        )
    };
    let name = || {
        format!(
            "{} {} ({})",
            words::ADJECTIVES[pick(r("name"), words::ADJECTIVES.len())],
            words::CAMPAIGN_NOUNS[pick(r("name2"), words::CAMPAIGN_NOUNS.len())],
            campaign_channel(ctx)
        )
    };
    Some(match path {
        "messages.channel" => Gen::Static(campaign_channel(ctx)),
        "name" | "definition.name" => Gen::Str(name()),
        "status" => Gen::Static(status),
        "archived" | "definition.archived" => Gen::Bool(campaign_archived(ctx)),
        "definition.builder" => Gen::Static(if unit(r("builder")) < 0.3 {
            "canvas"
        } else {
            "wizard"
        }),
        "scheduled_at" | "send_time" => {
            if status == "Draft" {
                Gen::Null
            } else {
                Gen::Time(sent_at(), Style::Plain)
            }
        }
        "audiences" => Gen::Json(json!({
            "included": ctx.refs.pick_id("/lists", r("audience")).into_iter().collect::<Vec<_>>(),
            "excluded": []
        })),
        "send_options" => Gen::Json(match campaign_channel(ctx) {
            "email" => json!({"use_smart_sending": true, "is_transactional": false}),
            _ => json!({"use_smart_sending": true}),
        }),
        "tracking_options" => Gen::Json(match campaign_channel(ctx) {
            "email" => {
                json!({"add_tracking_params": false, "custom_tracking_params": null, "is_tracking_clicks": true, "is_tracking_opens": true})
            }
            _ => {
                json!({"add_tracking_params": false, "custom_tracking_params": null, "is_tracking_clicks": true})
            }
        }),
        "send_strategy" => Gen::Json(json!({
            "method": "static",
            "options_static": {"datetime": crate::time::format_ts(sent_at(), Style::Plain), "is_local": false, "send_past_recipients_immediately": null},
            "options_throttled": null,
            "options_sto": null
        })),
        _ => return None,
    })
}

/// Hidden (filter-only) fields a materialised body must remember.
pub(crate) fn hidden_fields(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Campaigns => &["messages.channel"],
        Kind::Events => &["metric_id", "profile_id"],
        Kind::CouponCodes => &["coupon.id", "profile.id"],
        _ => &[],
    }
}

/// Relationship `data` that Klaviyo includes without `include=`: an
/// event's profile and metric.
pub(crate) fn relationship_data(ctx: &Ctx<'_>, rel: &str) -> Option<Value> {
    let r = |tag: &str| child(ctx.base, tag);
    match (ctx.kind, rel) {
        (Kind::Events, "profile") => ctx
            .refs
            .pick_id("/profiles", r("profile"))
            .map(|id| json!({"type": "profile", "id": id})),
        (Kind::Events, "metric") => ctx
            .refs
            .pick_id("/metrics", r("metric"))
            .map(|id| json!({"type": "metric", "id": id})),
        _ => None,
    }
}

fn image_format(ctx: &Ctx<'_>) -> &'static str {
    ["png", "jpeg", "jpeg", "gif"][pick(child(ctx.base, "format"), 4)]
}

/// The external id of a catalog record or coupon; catalog ids embed it.
pub(crate) fn external_id(kind: Kind, slot: u32) -> String {
    match kind {
        Kind::CatalogItems => format!("SKU-{slot:06}"),
        Kind::CatalogVariants => {
            format!("SKU-{:06}-{}", slot / 3, ["S", "M", "L"][slot as usize % 3])
        }
        Kind::CatalogCategories => format!(
            "CAT-{}",
            numbered(words::CATEGORIES, slot)
                .replace(' ', "-")
                .to_uppercase()
        ),
        Kind::Coupons => {
            // Prefix and percentage repeat together every 30 coupons.
            let code = format!(
                "{}{}",
                ["SUMMER", "WELCOME", "VIP", "FLASH", "HOLIDAY"][slot as usize % 5],
                5 + 5 * (slot % 6)
            );
            if slot < 30 {
                code
            } else {
                format!("{code}-{}", slot / 30)
            }
        }
        _ => String::new(),
    }
}

fn catalog(ctx: &Ctx<'_>, path: &str) -> Option<Gen> {
    let r = |tag: &str| child(ctx.base, tag);
    let product = words::PRODUCTS[pick(r("product"), words::PRODUCTS.len())];
    let price = ((r("price") % 20_000) as f64) / 100.0 + 4.99;
    Some(match (ctx.kind, path) {
        (_, "external_id") => Gen::Str(external_id(ctx.kind, ctx.slot)),
        (Kind::CatalogCategories, "name") => Gen::Str(numbered(words::CATEGORIES, ctx.slot)),
        (_, "title") => Gen::Str(match ctx.kind {
            Kind::CatalogVariants => {
                format!("{product} / {}", ["S", "M", "L"][ctx.slot as usize % 3])
            }
            _ => product.to_owned(),
        }),
        (_, "description") => Gen::Str(format!("Our {} — made to last.", product.to_lowercase())),
        (_, "price") => Gen::Num(price),
        (_, "sku") => Gen::Str(external_id(ctx.kind, ctx.slot)),
        (_, "inventory_quantity") => Gen::Int((r("inv") % 500) as i64),
        (_, "inventory_policy") => Gen::Int((r("policy") % 2) as i64),
        (_, "published") => Gen::Bool(unit(r("published")) < 0.9),
        (_, "url") => Gen::Str(format!("https://shop.example.com/products/{}", ctx.slot)),
        _ => return None,
    })
}
