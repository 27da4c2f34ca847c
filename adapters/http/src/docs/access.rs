//! What the active `ACCESS_POLICY` and `REGISTRATION` change in the
//! document: each operation's notes and errors, and the introduction's
//! summary of who may do what.

use domain::{AccessPolicy, AccessRules, FORBIDDEN_ADMINS_ONLY, Registration};

/// What the access rules change in one operation's description and
/// errors.
pub(super) struct AccessNote {
    /// Said after the operation's own description.
    pub(super) note: Option<String>,
    /// Errors added to the operation's own.
    pub(super) errors: Vec<(u16, Vec<&'static str>)>,
    /// Whether anonymous callers may call it (no security requirement, no
    /// 401).
    pub(super) anonymous: bool,
    /// Whether only administrators may call it (`x-administrators-only`).
    pub(super) administrators_only: bool,
}

const LAST_ADMIN_UPDATE: &str = "Can't update User: the last administrator cannot lose the right";
const LAST_ADMIN_DELETE: &str = "Can't delete User: the last administrator cannot be deleted";

/// How `access` changes the operation `id`.
pub(super) fn access_note(id: &str, access: AccessRules) -> AccessNote {
    let owner = access.policy == AccessPolicy::Owner;
    let registration = access.registration == Registration::Open;
    let mut note = AccessNote {
        note: None,
        errors: Vec::new(),
        anonymous: false,
        administrators_only: false,
    };
    let forbidden = (403, vec![FORBIDDEN_ADMINS_ONLY]);
    match (id, owner) {
        ("listUsers", true) => {
            note.note = Some("This server applies `ACCESS_POLICY=owner`: a user who is not an administrator gets a list of one, themselves.".into());
        }
        ("getUser", true) => {
            note.note = Some("This server applies `ACCESS_POLICY=owner`: to a user who is not an administrator, another user's id answers 404 as an unknown id does (ids are not confirmed).".into());
        }
        ("updateUser", true) => {
            note.note = Some(format!(
                "This server applies `ACCESS_POLICY=owner`: a user who is not an administrator may change only their own user (another id answers 404) and not `is_admin` (403 `{FORBIDDEN_ADMINS_ONLY}`; sending the value it has is harmless). An administrator may change any user's `is_admin`, except that the last administrator keeps the right (409)."
            ));
            note.errors = vec![forbidden, (409, vec![LAST_ADMIN_UPDATE])];
        }
        ("deleteUser", true) => {
            note.note = Some("This server applies `ACCESS_POLICY=owner`: a user who is not an administrator may delete only their own user (another id answers 404); an administrator may delete anyone but the last administrator (409).".into());
            note.errors = vec![(409, vec![LAST_ADMIN_DELETE])];
        }
        ("getStats", true) => {
            note.note = Some(format!(
                "Administrators only on this server (`ACCESS_POLICY=owner`): other users get 403 `{FORBIDDEN_ADMINS_ONLY}`."
            ));
            note.errors = vec![forbidden];
            note.administrators_only = true;
        }
        ("createUser", _) => {
            let mut said = Vec::new();
            if registration {
                said.push("Open to anyone on this server (`REGISTRATION=open`): called without credentials, it registers a user who is not an administrator, at most `THROTTLE_ADDRESS_FAILURES` per client address per `THROTTLE_BACKOFF` (429 beyond).".to_owned());
                note.anonymous = true;
                note.errors.push((429, vec!["Too many attempts"]));
            }
            if owner {
                said.push(format!("Logged-in users must be administrators (`ACCESS_POLICY=owner`): others get 403 `{FORBIDDEN_ADMINS_ONLY}`."));
                note.errors.push(forbidden);
                note.administrators_only = !registration;
            }
            note.note = (!said.is_empty()).then(|| said.join(" "));
        }
        _ => {}
    }
    note
}

/// What the document's introduction says about who may do what.
pub(super) fn access_summary(access: AccessRules) -> String {
    let policy = match access.policy {
        AccessPolicy::Open => {
            "Access policy `open` (the Flask API's): every logged-in user may list, read, change and delete every user."
        }
        AccessPolicy::Owner => {
            "Access policy `owner`: a user who is not an administrator sees and changes only their own user (other ids answer 404) and cannot create users or read the user count; administrators may do everything, except take the right from the last administrator. Users show `is_admin`."
        }
    };
    let registration = match access.registration {
        Registration::Closed => "Creating a user needs a logged-in caller.",
        Registration::Open => {
            "Anyone may register: `POST /api/v1/users` without credentials creates a user who is not an administrator (limited per client address)."
        }
    };
    format!("{policy} {registration}")
}
