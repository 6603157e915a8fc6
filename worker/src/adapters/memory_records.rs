//! The embedded mode's records: the same operations as the Redis adapter, in this process's
//! memory. One lock around everything makes each operation atomic, as it is in Redis.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;
use domain::ports::{LogEntry, PortError, Records};

#[derive(Default)]
pub struct MemoryRecords {
    state: Mutex<State>,
}

/// Records and counters share one map, as they share Redis's string keys.
#[derive(Default)]
struct State {
    values: HashMap<String, String>,
    sets: HashMap<String, BTreeSet<String>>,
    logs: HashMap<String, Vec<String>>,
    schedules: HashMap<String, HashMap<String, i64>>,
}

impl MemoryRecords {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("memory records lock")
    }
}

#[async_trait]
impl Records for MemoryRecords {
    async fn get(&self, key: &str) -> Result<Option<String>, PortError> {
        Ok(self.state().values.get(key).cloned())
    }

    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<String>>, PortError> {
        let state = self.state();
        Ok(keys
            .iter()
            .map(|key| state.values.get(key).cloned())
            .collect())
    }

    async fn put(&self, key: &str, value: &str) -> Result<(), PortError> {
        self.state().values.insert(key.to_owned(), value.to_owned());
        Ok(())
    }

    /// Kept until taken: whoever reads an expiring record here (one process, short-lived)
    /// also checks the expiry the record carries.
    async fn put_expiring(
        &self,
        key: &str,
        value: &str,
        _ttl: std::time::Duration,
    ) -> Result<(), PortError> {
        self.put(key, value).await
    }

    /// As [`Records::put_expiring`] here: kept until deleted.
    async fn create_expiring(
        &self,
        key: &str,
        value: &str,
        _ttl: std::time::Duration,
    ) -> Result<bool, PortError> {
        self.swap(key, None, value).await
    }

    async fn take(&self, key: &str) -> Result<Option<String>, PortError> {
        Ok(self.state().values.remove(key))
    }

    async fn swap(
        &self,
        key: &str,
        expected: Option<&str>,
        value: &str,
    ) -> Result<bool, PortError> {
        let mut state = self.state();
        if state.values.get(key).map(String::as_str) != expected {
            return Ok(false);
        }
        state.values.insert(key.to_owned(), value.to_owned());
        Ok(true)
    }

    /// Removes the key whatever it holds, as DEL does.
    async fn delete(&self, key: &str) -> Result<(), PortError> {
        let mut state = self.state();
        state.values.remove(key);
        state.sets.remove(key);
        state.logs.remove(key);
        state.schedules.remove(key);
        Ok(())
    }

    async fn increment(&self, key: &str) -> Result<u64, PortError> {
        let mut state = self.state();
        let current = match state.values.get(key) {
            None => 0,
            Some(value) => value.parse::<u64>().map_err(|_| PortError::Rejected {
                code: "CorruptRecord".to_owned(),
                message: format!("{key} holds {value:?}, not a counter"),
            })?,
        };
        let next = current + 1;
        state.values.insert(key.to_owned(), next.to_string());
        Ok(next)
    }

    async fn add_member(&self, set: &str, member: &str) -> Result<(), PortError> {
        self.state()
            .sets
            .entry(set.to_owned())
            .or_default()
            .insert(member.to_owned());
        Ok(())
    }

    async fn remove_member(&self, set: &str, member: &str) -> Result<(), PortError> {
        if let Some(members) = self.state().sets.get_mut(set) {
            members.remove(member);
        }
        Ok(())
    }

    async fn members(&self, set: &str) -> Result<Vec<String>, PortError> {
        Ok(self
            .state()
            .sets
            .get(set)
            .map(|members| members.iter().cloned().collect())
            .unwrap_or_default())
    }

    async fn append(&self, log: &str, entry: &str) -> Result<(), PortError> {
        self.state()
            .logs
            .entry(log.to_owned())
            .or_default()
            .push(entry.to_owned());
        Ok(())
    }

    /// A numbered log's numbers are its positions.
    async fn append_numbered(
        &self,
        log: &str,
        number: u64,
        entry: &str,
    ) -> Result<bool, PortError> {
        let mut state = self.state();
        let entries = state.logs.entry(log.to_owned()).or_default();
        if number <= entries.len() as u64 {
            return Ok(false);
        }
        entries.push(entry.to_owned());
        Ok(true)
    }

    async fn schedule(&self, set: &str, member: &str, at: i64) -> Result<(), PortError> {
        self.state()
            .schedules
            .entry(set.to_owned())
            .or_default()
            .insert(member.to_owned(), at);
        Ok(())
    }

    async fn unschedule(&self, set: &str, member: &str) -> Result<(), PortError> {
        if let Some(schedule) = self.state().schedules.get_mut(set) {
            schedule.remove(member);
        }
        Ok(())
    }

    async fn due(&self, set: &str, until: i64) -> Result<Vec<String>, PortError> {
        let state = self.state();
        let mut due: Vec<(i64, String)> = state
            .schedules
            .get(set)
            .map(|schedule| {
                schedule
                    .iter()
                    .filter(|(_, at)| **at <= until)
                    .map(|(member, at)| (*at, member.clone()))
                    .collect()
            })
            .unwrap_or_default();
        due.sort();
        Ok(due.into_iter().map(|(_, member)| member).collect())
    }

    async fn last_entry(&self, log: &str) -> Result<Option<LogEntry>, PortError> {
        Ok(self.state().logs.get(log).and_then(|entries| {
            entries.last().map(|entry| LogEntry {
                id: entries.len().to_string(),
                entry: entry.clone(),
            })
        }))
    }

    /// Ids are positions, counted from 1.
    async fn entries_after(
        &self,
        log: &str,
        after: Option<&str>,
    ) -> Result<Vec<LogEntry>, PortError> {
        let skip = match after {
            None => 0,
            Some(id) => id.parse::<usize>().map_err(|_| PortError::Rejected {
                code: "BadLogId".to_owned(),
                message: format!("{log} has no entry {id:?}"),
            })?,
        };
        let state = self.state();
        Ok(state
            .logs
            .get(log)
            .map(|entries| {
                entries
                    .iter()
                    .enumerate()
                    .skip(skip)
                    .map(|(index, entry)| LogEntry {
                        id: (index + 1).to_string(),
                        entry: entry.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default())
    }
}
