//! Accounts: customers, agents and admins.

use serde_json::json;

use crate::db::{self, Db, Flag, Tx};
use crate::domain::accounts::password::{self, Password};
use crate::domain::accounts::role::Role;
use crate::domain::admin::{audit, settings};
use crate::domain::clock::Timestamp;
use crate::domain::email::Email;
use crate::domain::organisations;
use crate::domain::text;
use crate::domain::{Error, FieldErrors, Result};

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    #[sqlx(try_from = "Flag")]
    pub active: bool,
    /// The owner proved the address is theirs (or an admin vouched for it).
    #[sqlx(try_from = "Flag")]
    pub verified: bool,
    /// Signing in takes a second factor (a TOTP code or a recovery code).
    #[sqlx(try_from = "Flag")]
    pub two_factor: bool,
    /// A customer's organisation, if they belong to one.
    pub organisation_id: Option<i64>,
    /// Sees and answers every ticket of their organisation.
    #[sqlx(try_from = "Flag")]
    pub org_manager: bool,
}

/// The columns a [`User`] is read from.
pub const USER_COLUMNS: &str = "id, email, name, role, active, (email_verified_at IS NOT NULL) AS verified, \
     (totp_enabled_at IS NOT NULL) AS two_factor, organisation_id, org_manager";

/// A new account's fields, each parsed; every problem is reported at once.
#[derive(Debug)]
pub struct NewUser {
    pub name: String,
    pub email: Email,
    pub role: Role,
    pub password: Password,
}

impl NewUser {
    pub fn parse(name: &str, email: &str, password: &str, role: Role) -> Result<Self> {
        let mut errors = FieldErrors::new();
        let name = errors.check("name", parse_name(name));
        let email = errors.check("email", Email::parse(email));
        let password = errors.check("password", Password::parse(password));
        match (name, email, password) {
            (Some(name), Some(email), Some(password)) => Ok(Self { name, email, role, password }),
            _ => Err(Error::Invalid(errors)),
        }
    }
}

pub fn parse_name(input: &str) -> Result<String, String> {
    text::line(input, "Name", 1, 100)
}

pub async fn find_active(db: &Db, id: i64) -> Result<Option<User>> {
    Ok(sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1 AND active = $2"))
        .bind(id)
        .bind(true)
        .fetch_optional(db.pool())
        .await?)
}

/// The active account behind a signed-in session, and whether staff must have two-factor
/// sign-in set up before they work — one statement for what every page asks first.
pub async fn find_signed_in(db: &Db, id: i64) -> Result<Option<(User, bool)>> {
    #[derive(sqlx::FromRow)]
    struct SignedIn {
        #[sqlx(flatten)]
        user: User,
        two_factor_required: Option<String>,
    }
    let found: Option<SignedIn> = sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS}, (SELECT value FROM settings WHERE key = $3) AS two_factor_required \
         FROM users WHERE id = $1 AND active = $2"
    ))
    .bind(id)
    .bind(true)
    .bind(settings::REQUIRE_TWO_FACTOR_STAFF)
    .fetch_optional(db.pool())
    .await?;
    Ok(found.map(|found| (found.user, found.two_factor_required.as_deref() == Some("true"))))
}

pub async fn find_by_email(db: &Db, email: &Email) -> Result<Option<User>> {
    Ok(sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1"))
        .bind(email.as_str())
        .fetch_optional(db.pool())
        .await?)
}

/// The active account with this email and password. An unknown email, a wrong password
/// and a deactivated account all answer `None` after the same amount of work.
pub async fn authenticate(db: &Db, email: &str, password: &str) -> Result<Option<User>> {
    #[derive(sqlx::FromRow)]
    struct Account {
        #[sqlx(flatten)]
        user: User,
        password_hash: String,
    }
    let account: Option<Account> = match Email::parse(email) {
        Ok(email) => {
            sqlx::query_as(&format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE email = $1"))
                .bind(email.as_str())
                .fetch_optional(db.pool())
                .await?
        }
        Err(_) => None,
    };
    // An account whose owner has not chosen a password yet has none to match.
    let (user, hash) = match account {
        Some(account) => (Some(account.user), Some(account.password_hash).filter(|hash| !hash.is_empty())),
        None => (None, None),
    };
    let password_matches = password::verify(password, hash).await?;
    match user {
        Some(user) if password_matches && user.active => Ok(Some(user)),
        _ => Ok(None),
    }
}

/// An account about to be stored.
pub struct NewAccount<'a> {
    pub name: &'a str,
    pub email: &'a Email,
    pub role: Role,
    /// Empty while the owner has yet to choose a password (an invitation is mailed).
    pub password_hash: &'a str,
    pub verified: bool,
}

/// Creates an account inside the caller's transaction. A password is hashed by the caller
/// beforehand, so the transaction never waits on argon2. A customer at an organisation's
/// mail domain joins it.
pub async fn insert(tx: &mut Tx, account: NewAccount<'_>, actor_id: Option<i64>, now: Timestamp) -> Result<User> {
    let organisation_id = match account.role {
        Role::Customer => organisations::of_address(&mut **tx, account.email.as_str()).await?,
        _ => None,
    };
    let inserted = sqlx::query_scalar(
        "INSERT INTO users (email, name, role, password_hash, active, created_at, updated_at, email_verified_at, \
         organisation_id) VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8) RETURNING id",
    )
    .bind(account.email.as_str())
    .bind(account.name)
    .bind(account.role)
    .bind(account.password_hash)
    .bind(true)
    .bind(now)
    .bind(account.verified.then_some(now))
    .bind(organisation_id)
    .fetch_one(&mut **tx)
    .await;
    let id: i64 = match inserted {
        Ok(id) => id,
        Err(error) if db::is_unique_violation(&error) => {
            return Err(Error::Invalid(FieldErrors::single("email", "An account with this email already exists.")));
        }
        Err(error) => return Err(error.into()),
    };
    let user = User {
        id,
        email: account.email.as_str().to_owned(),
        name: account.name.to_owned(),
        role: account.role,
        active: true,
        verified: account.verified,
        two_factor: false,
        organisation_id,
        org_manager: false,
    };
    audit::record(
        tx,
        audit::Entry {
            actor_id: actor_id.or(Some(id)),
            action: "user.create",
            object_type: "user",
            object_id: id.to_string(),
            before: None,
            after: Some(json!({ "email": user.email, "name": user.name, "role": user.role.as_str(), "verified": user.verified })),
        },
        now,
    )
    .await?;
    Ok(user)
}

/// Creates an account with its password, its address taken as verified (the command line
/// and fixtures: whoever runs them vouches for it), in its own transaction.
pub async fn create(db: &Db, new_user: &NewUser, actor_id: Option<i64>, now: Timestamp) -> Result<User> {
    let password_hash = password::hash(&new_user.password).await?;
    let mut tx = db.begin_write().await?;
    let account = NewAccount {
        name: &new_user.name,
        email: &new_user.email,
        role: new_user.role,
        password_hash: &password_hash,
        verified: true,
    };
    let user = insert(&mut tx, account, actor_id, now).await?;
    tx.commit().await?;
    Ok(user)
}

/// The name of the account `id` (none for no account, or one that is gone), read within
/// `tx`.
pub async fn name_of(tx: &mut Tx, id: Option<i64>) -> Result<Option<String>> {
    let Some(id) = id else { return Ok(None) };
    Ok(sqlx::query_scalar("SELECT name FROM users WHERE id = $1").bind(id).fetch_optional(&mut **tx).await?)
}

/// Ends every session of the account but `keep` (the one that made the change, if any), in
/// the caller's transaction: its next request from anywhere else is anonymous.
pub async fn sign_out_everywhere(tx: &mut Tx, user_id: i64, keep: Option<&str>) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id <> $2")
        .bind(user_id)
        .bind(keep.unwrap_or(""))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Active agents and admins, by name: who a ticket can be assigned to.
pub async fn active_staff(db: &Db) -> Result<Vec<User>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE role IN ('agent', 'admin') AND active = $1 ORDER BY lower(name), id"
    ))
    .bind(true)
    .fetch_all(db.pool())
    .await?)
}

/// The customer with this email, created when there is none yet — for tickets staff open
/// on a customer's behalf and mail from people we know of. The new account has no password
/// and an unverified address: its first notification carries a link to set a password,
/// which proves the address. An existing account of another role is refused: tickets are
/// requested by customers. (`actor_id`: who made it; `None`, they wrote in themselves.)
pub async fn find_or_create_customer(db: &Db, email: &Email, actor_id: Option<i64>, now: Timestamp) -> Result<User> {
    if let Some(user) = find_by_email(db, email).await? {
        return if user.role == Role::Customer && user.active {
            Ok(user)
        } else {
            Err(Error::Invalid(FieldErrors::single("requester", "That address belongs to a staff or deactivated account.")))
        };
    }
    let name = email.as_str().split('@').next().unwrap_or("Customer").to_owned();
    let mut tx = db.begin_write().await?;
    let account = NewAccount { name: &name, email, role: Role::Customer, password_hash: "", verified: false };
    let user = insert(&mut tx, account, actor_id, now).await?;
    tx.commit().await?;
    Ok(user)
}
