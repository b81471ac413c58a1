//! Framework database resets: the migration and ORM tools' commands that
//! drop, wipe or roll back a whole database.

use super::table::{Row, When};

rules! {
    RESET = ("dbreset.reset", Catastrophic, "Drops or wipes the whole database through the framework; every row is lost. Back it up first (a dump) and migrate forward instead of resetting.");
    ROLLBACK_ALL = ("dbreset.rollback_all", Catastrophic, "Rolls back every migration, dropping the tables and their data. Roll back one step instead.");
    MASS_DELETE = ("dbreset.mass_delete", Catastrophic, "Deletes every record of a model from a framework console. Delete a filtered set instead.");
}

pub(crate) const ROWS: &[Row] = &[
    Row {
        progs: &["rails", "rake"],
        path: &["db:wipe|db:truncate_all|db:drop:all|db:purge:all"],
        when: When::Always,
        rule: &RESET,
    },
    Row {
        progs: &["rails"],
        path: &["runner|r"],
        when: When::Contains(&[".delete_all", ".destroy_all", "drop_table", "truncate"]),
        rule: &MASS_DELETE,
    },
    Row { progs: &["sequelize", "sequelize-cli"], path: &["db:drop"], when: When::Always, rule: &RESET },
    Row {
        progs: &["sequelize", "sequelize-cli"],
        path: &["db:migrate:undo:all|db:seed:undo:all"],
        when: When::Always,
        rule: &ROLLBACK_ALL,
    },
    Row { progs: &["php", "console"], path: &[], when: When::Test(doctrine_drop), rule: &RESET },
    Row { progs: &["wp"], path: &["db", "reset|drop|clean"], when: When::Always, rule: &RESET },
    Row { progs: &["wp"], path: &["site", "empty"], when: When::Always, rule: &RESET },
    Row {
        progs: &["drush"],
        path: &["sql-drop|sql:drop|site-install|site:install|si"],
        when: When::Always,
        rule: &RESET,
    },
    Row { progs: &["django-admin"], path: &["flush|reset_db|sqlflush"], when: When::Always, rule: &RESET },
    Row { progs: &["manage.py"], path: &["reset_db"], when: When::Always, rule: &RESET },
    Row { progs: &["knex"], path: &["migrate:rollback"], when: When::Flag(&["--all"]), rule: &ROLLBACK_ALL },
    Row {
        progs: &["typeorm", "typeorm-ts-node-commonjs", "mikro-orm"],
        path: &["schema:drop"],
        when: When::Always,
        rule: &RESET,
    },
    Row { progs: &["mix"], path: &["ecto.drop|ecto.reset"], when: When::Always, rule: &RESET },
    Row { progs: &["flask"], path: &["db", "downgrade"], when: When::All(&["base"]), rule: &ROLLBACK_ALL },
    Row { progs: &["alembic"], path: &["downgrade"], when: When::All(&["base"]), rule: &ROLLBACK_ALL },
    Row { progs: &["dotnet"], path: &["ef", "database", "drop"], when: When::Always, rule: &RESET },
    Row { progs: &["dotnet-ef"], path: &["database", "drop"], when: When::Always, rule: &RESET },
    Row { progs: &["supabase"], path: &["db", "reset"], when: When::Always, rule: &RESET },
    Row { progs: &["diesel", "sqlx"], path: &["database", "reset|drop"], when: When::Always, rule: &RESET },
];

fn doctrine_drop(args: &[super::super::ir::Word<'_>], _: &super::Inv<'_>) -> bool {
    args.iter().any(|a| matches!(a.as_str(), "doctrine:schema:drop" | "doctrine:database:drop" | "d:s:d" | "d:d:d"))
        && args.iter().any(|a| matches!(a.as_str(), "--force" | "-f" | "--full-database"))
}
