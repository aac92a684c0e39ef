/**
 * A database name as a MariaDB GRANT pattern. In `GRANT … ON db.*` the database part is a pattern where `_` and `%`
 * are wildcards: `alfa_lab_42`.* also matches `alfa_labx42`, another client's database. Escaped, it names one.
 */
export const grantPattern = (db: string) => db.replaceAll('\\', '\\\\').replaceAll('_', '\\_').replaceAll('%', '\\%')
