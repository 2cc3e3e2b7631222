//! Request hooks: changes to the data right after the n-th successful
//! request to a path ("records change while a client is paging").

use crate::faults::api_prefix;
use crate::store::Store;

/// Runs `action` on the data right after the `after`-th request whose path
/// starts with `path_prefix` was answered with a 2xx status (faulted
/// requests do not count): "records change while a client is paging".
pub struct Hook {
    /// With or without `/api`, e.g. `/profiles`.
    pub path_prefix: String,
    pub after: usize,
    pub action: HookAction,
}

/// What a [`Hook`] does to the data.
pub type HookAction = Box<dyn FnOnce(&mut Store) + Send>;

impl Hook {
    pub fn new(
        path_prefix: &str,
        after: usize,
        action: impl FnOnce(&mut Store) + Send + 'static,
    ) -> Hook {
        Hook {
            path_prefix: path_prefix.to_owned(),
            after,
            action: Box::new(action),
        }
    }
}

/// A registered hook and how many matching requests it has seen.
pub(crate) struct Armed {
    prefix: String,
    after: usize,
    seen: usize,
    action: Option<HookAction>,
}

impl Armed {
    pub(crate) fn new(h: Hook) -> Armed {
        Armed {
            prefix: api_prefix(&h.path_prefix),
            after: h.after.max(1),
            seen: 0,
            action: Some(h.action),
        }
    }
}

/// Counts a served request to `path` and runs the hooks it makes due (each
/// once, then forgotten).
pub(crate) fn run(hooks: &mut Vec<Armed>, store: &mut Store, path: &str) {
    let mut due = Vec::new();
    for h in hooks.iter_mut() {
        if h.action.is_some() && path.starts_with(&h.prefix) {
            h.seen += 1;
            if h.seen == h.after
                && let Some(a) = h.action.take()
            {
                due.push(a);
            }
        }
    }
    hooks.retain(|h| h.action.is_some());
    for action in due {
        action(store);
    }
}
