//! Pieces of hand-written SQL that differ between the backends:
//! parameters (`$n` or `?`) and the folded-email comparison.

use sea_orm::DbBackend;

/// The `n`th (from 1) statement parameter of `backend`.
pub(crate) fn param(backend: DbBackend, n: usize) -> String {
    match backend {
        DbBackend::Postgres => format!("${n}"),
        _ => "?".to_owned(),
    }
}

/// The statement parameters numbered `numbers`, comma-separated.
pub(crate) fn params(backend: DbBackend, numbers: std::ops::RangeInclusive<usize>) -> String {
    numbers
        .map(|n| param(backend, n))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `column = parameter` for each of `columns`, parameters numbered from 1.
pub(crate) fn assignments(backend: DbBackend, columns: &[&str]) -> String {
    columns
        .iter()
        .enumerate()
        .map(|(i, column)| format!("{column} = {}", param(backend, i + 1)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `column`'s email folded to lower case (ASCII letters only, as
/// [`Email::folded`] does) equals `value`: the expression the
/// `users_email_folded` index holds, so the comparison is answered by it.
/// On PostgreSQL under the `C` collation, whose `lower()` folds ASCII only
/// whatever the database's locale; SQLite's `lower()` folds ASCII only.
///
/// [`Email::folded`]: domain::Email::folded
pub(crate) fn folded_email_equals(backend: DbBackend, column: &str, value: &str) -> String {
    match backend {
        DbBackend::Postgres => format!("lower({column} COLLATE \"C\") = {value}"),
        _ => format!("lower({column}) = {value}"),
    }
}
