//! Listing order, batch loading and the legacy duplicate emails of
//! [`Tables`].

use chrono::{TimeZone, Utc};

use domain::{Email, PasswordHash, User, UserId};

use super::Tables;

fn user(email: &str) -> User {
    let at = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    User {
        id: UserId::generate(),
        email: Email::parse(email).unwrap(),
        password_hash: PasswordHash::Unusable,
        first_name: None,
        last_name: None,
        created_at: at,
        updated_at: at,
        is_admin: false,
    }
}

#[test]
fn users_keep_insertion_order_through_deletions_and_updates() {
    let mut tables = Tables::new();
    let users: Vec<User> = ["a@x", "b@x", "c@x", "d@x"].into_iter().map(user).collect();
    for u in &users {
        tables.insert_user(u).unwrap();
    }
    assert!(tables.delete_user(&users[1].id));
    let renamed = User {
        first_name: Some("C".into()),
        ..users[2].clone()
    };
    assert!(tables.update_user(&renamed).unwrap());
    let listed: Vec<&str> = tables.users().map(|u| u.email.as_str()).collect();
    assert_eq!(listed, ["a@x", "c@x", "d@x"]);
    assert_eq!(
        tables.user(&users[2].id).unwrap().first_name.as_deref(),
        Some("C")
    );
}

#[test]
fn loading_users_at_once_is_loading_them_one_by_one() {
    let mut first = user("a@x");
    let second = user("b@x");
    let shadow = user("a@x");
    let early = user("e@x");
    let mut one_by_one = Tables::new();
    let mut at_once = Tables::new();
    for tables in [&mut one_by_one, &mut at_once] {
        tables.load_user(early.clone());
    }
    let renamed_early = User {
        first_name: Some("E".into()),
        ..early.clone()
    };
    let batch = || {
        let mut again = first.clone();
        again.last_name = Some("Again".into());
        vec![
            first.clone(),
            second.clone(),
            shadow.clone(),
            again,
            renamed_early.clone(),
        ]
    };
    for u in batch() {
        one_by_one.load_user(u);
    }
    at_once.load_users(batch());
    let listed = |t: &Tables| t.users().cloned().collect::<Vec<_>>();
    assert_eq!(listed(&one_by_one), listed(&at_once));
    assert_eq!(listed(&at_once).len(), 4);
    assert_eq!(
        at_once.user(&first.id).unwrap().last_name.as_deref(),
        Some("Again")
    );
    let a = Email::parse("a@x").unwrap();
    assert_eq!(at_once.user_by_email(&a).unwrap().id, first.id);
    assert!(at_once.delete_user(&first.id));
    assert_eq!(at_once.user_by_email(&a).unwrap().id, shadow.id);
    first = user("z@x");
    at_once.insert_user(&first).unwrap();
    assert_eq!(at_once.users().last().unwrap().id, first.id);
    assert_eq!(at_once.position_of(&first.id), Some(5));
}

#[test]
fn a_legacy_duplicate_email_passes_to_the_next_user_when_the_first_is_deleted() {
    let mut tables = Tables::new();
    let first = user("same@x");
    let second = user("same@x");
    let third = user("same@x");
    for u in [&first, &second, &third] {
        tables.load_user(u.clone());
    }
    let email = Email::parse("same@x").unwrap();
    assert_eq!(tables.user_by_email(&email).unwrap().id, first.id);
    assert!(
        tables.delete_user(&second.id),
        "a shadowed user can be deleted"
    );
    assert!(tables.delete_user(&first.id));
    assert_eq!(tables.user_by_email(&email).unwrap().id, third.id);
    assert!(tables.delete_user(&third.id));
    assert!(tables.user_by_email(&email).is_none());
}
