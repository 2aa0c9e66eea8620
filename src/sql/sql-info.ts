// SqlInfo is core vocabulary (events carry it); the SQL toolkit produces it.
export type { SqlInfo, StatementClass } from '../core/sql-info.js';
