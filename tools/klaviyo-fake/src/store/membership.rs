//! List membership: which profiles are on which list and when each
//! joined (`joined_group_at`).

use super::{Store, StoreError};
use crate::data::seed;
use crate::time::{self, Micros};

impl Store {
    /// Adds profiles to a list (the list's and the profiles' newest states
    /// must exist); members already there keep their `joined_group_at`.
    /// Returns how many joined.
    pub fn add_to_list(
        &mut self,
        list_id: &str,
        profile_ids: &[String],
    ) -> Result<usize, StoreError> {
        self.check_membership(list_id, profile_ids)?;
        let now = seed::whole(time::now_micros());
        let members = self.members.entry(list_id.to_owned()).or_default();
        let mut joined = 0;
        for p in profile_ids {
            if !members.contains_key(p) {
                members.insert(p.clone(), now);
                joined += 1;
            }
        }
        Ok(joined)
    }

    /// Removes profiles from a list; ids that are not members are ignored.
    /// Returns how many left.
    pub fn remove_from_list(
        &mut self,
        list_id: &str,
        profile_ids: &[String],
    ) -> Result<usize, StoreError> {
        self.check_membership(list_id, profile_ids)?;
        let Some(members) = self.members.get_mut(list_id) else {
            return Ok(0);
        };
        Ok(profile_ids
            .iter()
            .filter(|p| members.remove(p.as_str()).is_some())
            .count())
    }

    fn check_membership(&self, list_id: &str, profile_ids: &[String]) -> Result<(), StoreError> {
        let lists = self.index_of("/lists")?;
        self.latest_slot(lists, list_id)?;
        let profiles = self.index_of("/profiles")?;
        for p in profile_ids {
            self.latest_slot(profiles, p)?;
        }
        Ok(())
    }

    /// The profile ids of a list's members, in the order they joined.
    pub fn list_members(&self, list_id: &str) -> Vec<String> {
        self.members_since(list_id)
            .into_iter()
            .map(|(id, _)| id)
            .collect()
    }

    /// A list's members with the instant each joined, oldest first (ties
    /// by id); members whose profile no longer exists are left out.
    pub(crate) fn members_since(&self, list_id: &str) -> Vec<(String, Micros)> {
        let Some(members) = self.members.get(list_id) else {
            return Vec::new();
        };
        let profiles = self.index_of("/profiles").ok();
        let mut out: Vec<(String, Micros)> = members
            .iter()
            .filter(|(p, _)| profiles.is_some_and(|ci| self.latest_slot(ci, p).is_ok()))
            .map(|(p, t)| (p.clone(), *t))
            .collect();
        out.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        out
    }

    /// The ids of the lists `profile_id` is a member of, sorted.
    pub(crate) fn lists_of(&self, profile_id: &str) -> Vec<String> {
        let mut out: Vec<String> = self
            .members
            .iter()
            .filter(|(_, m)| m.contains_key(profile_id))
            .map(|(l, _)| l.clone())
            .collect();
        out.sort();
        out
    }
}
