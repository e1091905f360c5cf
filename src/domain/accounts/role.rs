//! Roles: customers, agents and admins.

use crate::db::stored_enum;

stored_enum!(
    /// What a user may do: one role each.
    pub enum Role {
        Customer => "customer", "Customer";
        Agent => "agent", "Agent";
        Admin => "admin", "Admin";
    } else "Choose customer, agent or admin."
);

impl Role {
    /// Agents and admins work the desk and see every ticket.
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Agent | Role::Admin)
    }

    /// Where a user lands after signing in.
    pub fn home(self) -> &'static str {
        if self.is_staff() { "/desk" } else { "/tickets" }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), *role);
        }
        assert!("Admin".parse::<Role>().is_err());
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn only_agents_and_admins_are_staff() {
        assert!(!Role::Customer.is_staff());
        assert!(Role::Agent.is_staff());
        assert!(Role::Admin.is_staff());
        assert_eq!(Role::Customer.home(), "/tickets");
        assert_eq!(Role::Admin.home(), "/desk");
    }
}
