//! An account's fields as admins give them: all of them for a new account or a page's
//! form, or only some for a change through the API.

use std::collections::BTreeSet;

use crate::domain::accounts::password::Password;
use crate::domain::accounts::role::Role;
use crate::domain::accounts::users::parse_name;
use crate::domain::email::Email;
use crate::domain::{Error, FieldErrors, Result};

/// A user's fields as an admin edits them. `password: None` keeps the current password
/// (or, for a new account, mails its owner an invitation to choose one).
#[derive(Debug)]
pub struct UserInput {
    pub name: String,
    pub email: Email,
    pub role: Role,
    pub password: Option<Password>,
    /// Memberships are for staff; a customer's are dropped.
    pub group_ids: BTreeSet<i64>,
    /// The admin vouches for the address (new accounts: always). Unticked changes nothing: a
    /// verified address stays verified.
    pub verified: bool,
}

impl UserInput {
    /// A form's fields, every one given (an empty password: none chosen); the fields
    /// themselves are read as [`UserChanges::parse`] reads them.
    pub fn parse(name: &str, email: &str, role: &str, password: &str, group_ids: &[String], verified: bool) -> Result<Self> {
        let mut errors = FieldErrors::new();
        let group_ids: Vec<i64> = errors
            .check(
                "groups",
                group_ids
                    .iter()
                    .map(|id| id.trim().parse::<i64>().map_err(|_| "Choose groups from the list.".to_string()))
                    .collect(),
            )
            .unwrap_or_default();
        let password = (!password.is_empty()).then_some(password);
        let changes = match UserChanges::parse(Some(name), Some(email), Some(role), password, Some(&group_ids), verified) {
            Ok(changes) => Some(changes),
            Err(Error::Invalid(more)) => {
                errors.extend(more);
                None
            }
            Err(other) => return Err(other),
        };
        errors.into_result()?;
        Ok(Self { verified, ..changes.expect("checked").into_new()? })
    }
}

/// What an update changes. `None` keeps a field as it is — read under the account's lock,
/// so that two admins changing different fields at once both keep their change.
#[derive(Debug, Default)]
pub struct UserChanges {
    pub name: Option<String>,
    pub email: Option<Email>,
    pub role: Option<Role>,
    pub password: Option<Password>,
    pub group_ids: Option<BTreeSet<i64>>,
    /// As in [`UserInput`]: `true` vouches for the address, `false` changes nothing.
    pub verified: bool,
}

impl UserChanges {
    /// Parses the fields given (`None`: not given); every problem is reported at once.
    pub fn parse(
        name: Option<&str>,
        email: Option<&str>,
        role: Option<&str>,
        password: Option<&str>,
        group_ids: Option<&[i64]>,
        verified: bool,
    ) -> Result<Self> {
        let mut errors = FieldErrors::new();
        let changes = Self {
            name: name.and_then(|name| errors.check("name", parse_name(name))),
            email: email.and_then(|email| errors.check("email", Email::parse(email))),
            role: role.and_then(|role| errors.check("role", role.trim().parse::<Role>())),
            password: password.and_then(|password| errors.check("password", Password::parse(password))),
            group_ids: group_ids.map(|ids| ids.iter().copied().collect()),
            verified,
        };
        errors.into_result()?;
        Ok(changes)
    }

    /// A new account's fields: name, email and role are required.
    pub fn into_new(self) -> Result<UserInput> {
        let mut errors = FieldErrors::new();
        for (field, given) in [("name", self.name.is_some()), ("email", self.email.is_some()), ("role", self.role.is_some())] {
            if !given {
                errors.add(field, "Required.");
            }
        }
        errors.into_result()?;
        let role = self.role.expect("checked");
        Ok(UserInput {
            name: self.name.expect("checked"),
            email: self.email.expect("checked"),
            role,
            password: self.password,
            group_ids: if role.is_staff() { self.group_ids.unwrap_or_default() } else { BTreeSet::new() },
            verified: true,
        })
    }
}

impl From<UserInput> for UserChanges {
    fn from(input: UserInput) -> Self {
        Self {
            name: Some(input.name),
            email: Some(input.email),
            role: Some(input.role),
            password: input.password,
            group_ids: Some(input.group_ids),
            verified: input.verified,
        }
    }
}
