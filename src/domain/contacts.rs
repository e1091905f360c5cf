//! Customers as contacts of the company they belong to: a phone number, how they like to
//! be reached, their organisation, and whether they manage it (then they see and answer
//! every ticket of it).

use serde_json::json;

use crate::db::search::{self, Documents};
use crate::db::{Db, Flag, stored_enum};
use crate::domain::accounts::role::Role;
use crate::domain::admin::audit;
use crate::domain::clock::Timestamp;
use crate::domain::{Error, FieldErrors, Result, text};

stored_enum!(
    /// How a contact likes to be reached.
    #[derive(Default)]
    pub enum ContactMethod {
        #[default]
        Email => "email", "Email";
        Phone => "phone", "Phone";
    } else "Choose email or phone."
);

/// A customer as their contact page shows them.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Contact {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub preferred_contact: ContactMethod,
    pub organisation_id: Option<i64>,
    pub org_manager: Flag,
}

/// A contact's fields as staff edit them, parsed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ContactInput {
    pub phone: String,
    pub preferred_contact: ContactMethod,
    pub organisation_id: Option<i64>,
    pub org_manager: bool,
}

impl ContactInput {
    /// `preferred_contact` is `email` (also when empty) or `phone`; `organisation` an id or
    /// empty (none); `org_manager` a checkbox.
    pub fn parse(phone: &str, preferred_contact: &str, organisation: &str, org_manager: bool) -> Result<Self> {
        let mut errors = FieldErrors::new();
        let phone = errors.check(
            "phone",
            text::line(phone, "Phone", 0, 40).and_then(|phone| {
                if phone.chars().all(|c| c.is_ascii_digit() || " +-()./".contains(c)) {
                    Ok(phone)
                } else {
                    Err("Digits, spaces and + - ( ) . / only.".into())
                }
            }),
        );
        let preferred_contact = match preferred_contact.trim() {
            "" => Some(ContactMethod::Email),
            given => errors.check("preferred_contact", given.parse()),
        };
        if preferred_contact == Some(ContactMethod::Phone) && phone.as_deref().is_some_and(str::is_empty) {
            errors.add("preferred_contact", "Give a phone number to prefer phone.");
        }
        let organisation_id = match organisation.trim() {
            "" => Some(None),
            id => errors
                .check("organisation", id.parse::<i64>().map(Some).map_err(|_| "Choose an organisation from the list.".into())),
        };
        if org_manager && organisation_id == Some(None) {
            errors.add("org_manager", "Only a contact of an organisation can manage it.");
        }
        errors.into_result()?;
        Ok(Self {
            phone: phone.expect("checked"),
            preferred_contact: preferred_contact.expect("checked"),
            organisation_id: organisation_id.expect("checked"),
            org_manager,
        })
    }
}

/// A row of the customers list.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ContactRow {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub organisation_id: Option<i64>,
    pub organisation_name: Option<String>,
    pub org_manager: Flag,
}

/// The most customers one list shows: beyond, the search is to be narrowed.
pub const LIST_LIMIT: i64 = 100;

/// Customers whose name or address contains `q`, of `organisation_id` when given, by name.
pub async fn list(db: &Db, q: &str, organisation_id: Option<i64>) -> Result<Vec<ContactRow>> {
    let pattern = crate::domain::paging::like_pattern(q.trim());
    Ok(sqlx::query_as(&format!(
        "SELECT u.id, u.name, u.email, u.organisation_id, o.name AS organisation_name, u.org_manager \
         FROM users u LEFT JOIN organisations o ON o.id = u.organisation_id \
         WHERE u.role = $1 AND ($2 = '%%' OR lower(u.name) LIKE $2 ESCAPE '\\' OR u.email LIKE $2 ESCAPE '\\') \
           AND ($3 = 0 OR u.organisation_id = $3) \
         ORDER BY lower(u.name), u.id LIMIT {LIST_LIMIT}"
    ))
    .bind(Role::Customer)
    .bind(pattern)
    .bind(organisation_id.unwrap_or(0))
    .fetch_all(db.pool())
    .await?)
}

pub async fn find(db: &Db, id: i64) -> Result<Contact> {
    let found: Option<Contact> = sqlx::query_as(
        "SELECT id, name, email, phone, preferred_contact, organisation_id, org_manager FROM users \
             WHERE id = $1 AND role = $2",
    )
    .bind(id)
    .bind(Role::Customer)
    .fetch_optional(db.pool())
    .await?;
    found.ok_or(Error::NotFound)
}

/// Saves a contact's fields; moving them to another organisation moves their tickets too.
pub async fn update(db: &Db, id: i64, input: &ContactInput, actor_id: i64, now: Timestamp) -> Result<()> {
    let before = find(db, id).await?;
    let mut tx = db.begin_write().await?;
    if let Some(organisation_id) = input.organisation_id {
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM organisations WHERE id = $1")
            .bind(organisation_id)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(Error::Invalid(FieldErrors::single("organisation", "Choose an organisation from the list.")));
        }
    }
    sqlx::query(
        "UPDATE users SET phone = $1, organisation_id = $2, org_manager = $3, updated_at = $4, preferred_contact = $6 \
         WHERE id = $5",
    )
    .bind(&input.phone)
    .bind(input.organisation_id)
    .bind(input.org_manager)
    .bind(now)
    .bind(id)
    .bind(input.preferred_contact)
    .execute(&mut *tx)
    .await?;
    if before.organisation_id != input.organisation_id {
        sqlx::query("UPDATE tickets SET organisation_id = $1 WHERE requester_id = $2")
            .bind(input.organisation_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        search::reindex(&mut tx, db.backend(), Documents::OfRequester(id)).await?;
    }
    let state = |phone: &str, preferred: ContactMethod, organisation_id: Option<i64>, org_manager: bool| json!({ "phone": phone, "preferred_contact": preferred.as_str(), "organisation_id": organisation_id, "org_manager": org_manager });
    let entry = audit::Entry {
        actor_id: Some(actor_id),
        action: "contact.update",
        object_type: "user",
        object_id: id.to_string(),
        before: Some(state(&before.phone, before.preferred_contact, before.organisation_id, before.org_manager.0)),
        after: Some(state(&input.phone, input.preferred_contact, input.organisation_id, input.org_manager)),
    };
    audit::record(&mut tx, entry, now).await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{ContactInput, ContactMethod};

    #[test]
    fn a_manager_belongs_to_an_organisation() {
        let parsed = ContactInput::parse(" +44 20 7946 0000 ", "phone", "3", true).unwrap();
        let expected = ContactInput {
            phone: "+44 20 7946 0000".into(),
            preferred_contact: ContactMethod::Phone,
            organisation_id: Some(3),
            org_manager: true,
        };
        assert_eq!(parsed, expected);
        assert!(ContactInput::parse("", "", "", true).is_err());
        assert!(ContactInput::parse("", "", "acme", false).is_err());
        assert!(ContactInput::parse("call me", "", "", false).is_err());
        assert!(ContactInput::parse("", "phone", "", false).is_err(), "phone preferred, but no number");
        assert!(ContactInput::parse("", "pigeon", "", false).is_err());
        assert_eq!(ContactInput::parse("", "", "", false).unwrap(), ContactInput { phone: String::new(), ..Default::default() });
    }
}
