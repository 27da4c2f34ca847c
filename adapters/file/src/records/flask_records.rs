//! Every record of a Flask data folder parsed on its own, so one bad
//! record does not hide the others (what `session-auth import` needs).

use std::path::Path;

use domain::{Session, User};

use super::objects::parse_object;
use crate::error::OpenError;

/// Every record of a Flask data folder, each parsed on its own so one bad
/// record does not hide the others (what `session-auth import` needs).
#[derive(Debug, Default)]
pub struct FlaskRecords {
    /// The users file's records, in file order.
    pub users: Vec<Result<User, OpenError>>,
    /// The sessions file's records, in file order.
    pub sessions: Vec<Result<Session, OpenError>>,
}

/// Parses each record of the users file and the sessions file.
pub(crate) fn parse_each(
    users: Option<(&Path, &[u8])>,
    sessions: Option<(&Path, &[u8])>,
) -> Result<FlaskRecords, OpenError> {
    let mut records = FlaskRecords::default();
    if let Some((path, bytes)) = users {
        records.users = parse_object(path, bytes, |record| record.user())?;
    }
    if let Some((path, bytes)) = sessions {
        records.sessions = parse_object(path, bytes, |record| Ok(record.session()?.0))?;
    }
    Ok(records)
}
