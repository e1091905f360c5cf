//! Organisations: the companies customers belong to, with the mail domains that bring their
//! new customers in, and notes for staff. A ticket belongs to its requester's organisation.

use serde_json::{Value, json};

use crate::db::search::{self, Documents};
use crate::db::{self, Db, Tx};
use crate::domain::admin::audit;
use crate::domain::clock::Timestamp;
use crate::domain::paging::{Paged, like_pattern};
use crate::domain::{Error, FieldErrors, Result, text};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Organisation {
    pub id: i64,
    pub name: String,
    pub notes: String,
    /// Its mail domains, one per line as they are edited.
    #[sqlx(skip)]
    pub domains: Vec<String>,
}

/// A row of the organisations list.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct OrganisationRow {
    pub id: i64,
    pub name: String,
    pub contacts: i64,
    pub domains: String,
}

/// Mail services anyone can have an address at: a customer there belongs to no company.
const PUBLIC_MAIL_DOMAINS: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "msn.com",
    "yahoo.com",
    "icloud.com",
    "me.com",
    "aol.com",
    "gmx.de",
    "gmx.net",
    "web.de",
    "proton.me",
    "protonmail.com",
    "mail.ru",
    "yandex.ru",
    "qq.com",
];

/// An organisation's fields, each parsed.
#[derive(Debug)]
pub struct OrganisationInput {
    pub name: String,
    pub domains: Vec<String>,
    pub notes: String,
}

impl OrganisationInput {
    /// `domains` one per line (commas and spaces also part them; a leading `@` is dropped).
    pub fn parse(name: &str, domains: &str, notes: &str) -> Result<Self> {
        let mut errors = FieldErrors::new();
        let name = errors.check("name", text::line(name, "Name", 1, 120));
        let domains = errors.check("domains", parse_domains(domains));
        let notes = errors.check(
            "notes",
            text::clean(notes.trim(), true).and_then(|notes| {
                if notes.chars().count() > 5000 { Err("Keep the notes under 5,000 characters.".into()) } else { Ok(notes) }
            }),
        );
        errors.into_result()?;
        Ok(Self { name: name.expect("checked"), domains: domains.expect("checked"), notes: notes.expect("checked") })
    }
}

fn parse_domains(domains: &str) -> std::result::Result<Vec<String>, String> {
    let mut parsed: Vec<String> = Vec::new();
    for domain in domains.split(|c: char| c == ',' || c.is_whitespace()).filter(|domain| !domain.is_empty()) {
        let domain = domain.trim_start_matches('@').trim_end_matches('.').to_ascii_lowercase();
        let well_formed = domain.len() <= 253
            && domain.contains('.')
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if !well_formed {
            return Err(format!("{domain} is not a mail domain (like example.com)."));
        }
        if PUBLIC_MAIL_DOMAINS.contains(&domain.as_str()) {
            return Err(format!("{domain} is a public mail service: everyone there would join."));
        }
        if !parsed.contains(&domain) {
            parsed.push(domain);
        }
    }
    if parsed.len() > 50 {
        return Err("At most 50 domains.".into());
    }
    Ok(parsed)
}

fn entry(action: &'static str, id: i64, actor_id: i64, before: Option<Value>, after: Option<Value>) -> audit::Entry<'static> {
    audit::Entry { actor_id: Some(actor_id), action, object_type: "organisation", object_id: id.to_string(), before, after }
}

fn as_json(input: &OrganisationInput) -> Value {
    json!({ "name": input.name, "domains": input.domains, "notes": input.notes })
}

/// Writes the organisation's domains anew; a domain another organisation has is refused.
async fn set_domains(tx: &mut Tx, id: i64, domains: &[String]) -> Result<()> {
    sqlx::query("DELETE FROM organisation_domains WHERE organisation_id = $1").bind(id).execute(&mut **tx).await?;
    for domain in domains {
        let inserted = sqlx::query("INSERT INTO organisation_domains (domain, organisation_id) VALUES ($1, $2)")
            .bind(domain)
            .bind(id)
            .execute(&mut **tx)
            .await;
        match inserted {
            Ok(_) => {}
            Err(error) if db::is_unique_violation(&error) => {
                let message = format!("{domain} belongs to another organisation already.");
                return Err(Error::Invalid(FieldErrors::single("domains", message)));
            }
            Err(error) => return Err(error.into()),
        }
    }
    Ok(())
}

fn duplicate_name(error: &sqlx::Error) -> Option<Error> {
    db::is_unique_violation(error)
        .then(|| Error::Invalid(FieldErrors::single("name", "An organisation with this name already exists.")))
}

pub async fn create(db: &Db, input: &OrganisationInput, actor_id: i64, now: Timestamp) -> Result<i64> {
    let mut tx = db.begin_write().await?;
    let inserted = sqlx::query_scalar(
        "INSERT INTO organisations (name, notes, created_at, updated_at) VALUES ($1, $2, $3, $3) RETURNING id",
    )
    .bind(&input.name)
    .bind(&input.notes)
    .bind(now)
    .fetch_one(&mut *tx)
    .await;
    let id: i64 = inserted.map_err(|error| duplicate_name(&error).unwrap_or_else(|| error.into()))?;
    set_domains(&mut tx, id, &input.domains).await?;
    audit::record(&mut tx, entry("organisation.create", id, actor_id, None, Some(as_json(input))), now).await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn update(db: &Db, id: i64, input: &OrganisationInput, actor_id: i64, now: Timestamp) -> Result<()> {
    let before = find(db, id).await?;
    let mut tx = db.begin_write().await?;
    let updated = sqlx::query("UPDATE organisations SET name = $1, notes = $2, updated_at = $3 WHERE id = $4")
        .bind(&input.name)
        .bind(&input.notes)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(|error| duplicate_name(&error).unwrap_or_else(|| error.into()))?;
    if updated.rows_affected() == 0 {
        return Err(Error::NotFound);
    }
    set_domains(&mut tx, id, &input.domains).await?;
    if before.name != input.name {
        search::reindex(&mut tx, db.backend(), Documents::OfOrganisation(id)).await?;
    }
    let before = json!({ "name": before.name, "domains": before.domains, "notes": before.notes });
    audit::record(&mut tx, entry("organisation.update", id, actor_id, Some(before), Some(as_json(input))), now).await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes an organisation: its contacts and tickets stay, belonging to none. Answers what
/// it was.
pub async fn delete(db: &Db, id: i64, actor_id: i64, now: Timestamp) -> Result<Organisation> {
    let before = find(db, id).await?;
    let mut tx = db.begin_write().await?;
    search::reindex(&mut tx, db.backend(), Documents::LeavingOrganisation(id)).await?;
    // Said here rather than left to the foreign keys: SQLite enforces them only when asked.
    for table in ["users", "tickets"] {
        sqlx::query(&format!("UPDATE {table} SET organisation_id = NULL WHERE organisation_id = $1"))
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("UPDATE users SET org_manager = FALSE WHERE org_manager AND organisation_id IS NULL").execute(&mut *tx).await?;
    sqlx::query("DELETE FROM organisation_domains WHERE organisation_id = $1").bind(id).execute(&mut *tx).await?;
    sqlx::query("DELETE FROM organisations WHERE id = $1").bind(id).execute(&mut *tx).await?;
    let state = json!({ "name": before.name, "domains": before.domains, "notes": before.notes });
    audit::record(&mut tx, entry("organisation.delete", id, actor_id, Some(state), None), now).await?;
    tx.commit().await?;
    Ok(before)
}

pub async fn find(db: &Db, id: i64) -> Result<Organisation> {
    let found: Option<Organisation> =
        sqlx::query_as("SELECT id, name, notes FROM organisations WHERE id = $1").bind(id).fetch_optional(db.pool()).await?;
    let mut organisation = found.ok_or(Error::NotFound)?;
    organisation.domains =
        sqlx::query_scalar("SELECT domain FROM organisation_domains WHERE organisation_id = $1 ORDER BY domain")
            .bind(id)
            .fetch_all(db.pool())
            .await?;
    Ok(organisation)
}

/// An organisation as a choice in a form.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct OrganisationName {
    pub id: i64,
    pub name: String,
}

/// Every organisation by name, to choose from.
pub async fn names(db: &Db) -> Result<Vec<OrganisationName>> {
    Ok(sqlx::query_as("SELECT id, name FROM organisations ORDER BY lower(name), id").fetch_all(db.pool()).await?)
}

pub const ORGANISATIONS_PER_PAGE: i64 = 50;

/// A page of the organisations whose name or a domain contains `q`, by name, each with its
/// number of contacts and its domains.
pub async fn list(db: &Db, q: &str, page: i64) -> Result<Paged<OrganisationRow>> {
    let pattern = like_pattern(q.trim());
    let matching = "FROM organisations o WHERE $1 = '%%' OR lower(o.name) LIKE $1 ESCAPE '\\' \
         OR EXISTS (SELECT 1 FROM organisation_domains d WHERE d.organisation_id = o.id AND d.domain LIKE $1 ESCAPE '\\')";
    let total: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) {matching}")).bind(&pattern).fetch_one(db.pool()).await?;
    let rows = sqlx::query_as(&format!(
        "SELECT o.id, o.name, (SELECT COUNT(*) FROM users u WHERE u.organisation_id = o.id) AS contacts, \
                COALESCE((SELECT string_agg(d.domain, ', ') FROM organisation_domains d WHERE d.organisation_id = o.id), '') \
                AS domains \
         {matching} ORDER BY lower(o.name), o.id LIMIT {ORGANISATIONS_PER_PAGE} OFFSET {}",
        (page - 1) * ORGANISATIONS_PER_PAGE
    ))
    .bind(&pattern)
    .fetch_all(db.pool())
    .await?;
    Ok(Paged::counted(rows, page, total, ORGANISATIONS_PER_PAGE))
}

/// The organisation a new customer at `email` joins, if its domain names one (read in a
/// transaction, or from the pool).
pub async fn of_address<'c>(executor: impl sqlx::Executor<'c, Database = sqlx::Any>, email: &str) -> Result<Option<i64>> {
    let domain = email.rsplit('@').next().unwrap_or_default().to_ascii_lowercase();
    Ok(sqlx::query_scalar("SELECT organisation_id FROM organisation_domains WHERE domain = $1")
        .bind(domain)
        .fetch_optional(executor)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::parse_domains;

    #[test]
    fn domains_are_read_one_per_line_and_checked() {
        assert_eq!(parse_domains("acme.test\n@Mail.Acme.test, acme.test\n").unwrap(), ["acme.test", "mail.acme.test"]);
        assert_eq!(parse_domains("  ").unwrap(), Vec::<String>::new());
        for bad in ["acme", "acme..test", "-acme.test", "ac me.test@", "a_b.test", "gmail.com"] {
            assert!(parse_domains(bad).is_err(), "{bad}");
        }
    }
}
