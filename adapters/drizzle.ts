/**
 * Drizzle ORM adapter (`drizzle-orm/node-postgres`).
 *
 * ```ts
 * const db = withDrizzle(drizzle({ client: lens.instrument(pool), schema }), lens);
 * ```
 *
 * Drizzle builders are lazy: `db.select().from(comments).where(…)` runs only when it is awaited,
 * and `await` calls the builder's `then` from a microtask, where no application frame is left on
 * the stack (not even an async one). So the call site is captured when the builder is *created*
 * — at `from()` for selects (where the table becomes known), at `insert/update/delete(table)`,
 * `db.query.<table>.findMany/findFirst`, `db.execute`, `db.$count` — with `lens.deferOperation()`.
 * Each capture gets its own view of the Drizzle session (every builder derived from it copies
 * `session`), whose prepared queries execute in an operation frame carrying that call site, in the
 * async context of the execution (so the unit of work is the one the builder is awaited in). The
 * pg layer finds the frame (ORM, table, call site) when Drizzle finally calls `client.query`.
 *
 * Nothing global is patched: `withDrizzle` sets own properties on this db object (and on the
 * transaction objects its `transaction()` hands out), and the pool it runs on is instrumented
 * (idempotent). Drizzle is described structurally; this file never imports it.
 */
import type { Lens, OperationInfo } from 'querylens';
import { defineHidden, hasMethods } from './support.js';

// Drizzle marks its classes and tables with global symbols (stable across its copies).
const ENTITY_KIND = Symbol.for('drizzle:entityKind');
const TABLE_NAME = Symbol.for('drizzle:Name');
const VIEW_CONFIG = Symbol.for('drizzle:ViewBaseConfig');

/** The session class of each Drizzle driver we can name in an error (Drizzle's `entityKind`). */
const NODE_PG_SESSION = 'NodePgSession';

type Fn = (...args: unknown[]) => unknown;
/** `lens.deferOperation()`: runs `fn` in an operation frame with the call site captured at creation. */
type Deferred = <R>(operation: OperationInfo, fn: () => R) => R;

interface DrizzleSession {
  readonly client?: unknown;
  prepareQuery(...args: unknown[]): unknown;
}

interface TableConfig {
  readonly dbName?: unknown;
  readonly schema?: unknown;
  readonly relations?: Readonly<Record<string, unknown>>;
}

interface RelationalBuilder {
  readonly tableConfig?: TableConfig;
  findMany?: Fn;
  findFirst?: Fn;
}

/** The parts of a Drizzle `PgDatabase` (or `PgTransaction`) the adapter touches. */
interface DrizzleDb {
  readonly session: DrizzleSession;
  readonly $client?: unknown;
  readonly _?: { readonly schema?: Readonly<Record<string, TableConfig>> };
  query?: Record<string, RelationalBuilder>;
  [method: string]: unknown;
}

/** Dbs and transactions already wired (a second `withDrizzle` is a no-op). */
const wired = new WeakSet<object>();

/** Drizzle's class names (`entityKind`) along the prototype chain: `['NodePgDatabase', 'PgDatabase']`. */
function entityKinds(value: unknown): string[] {
  const kinds: string[] = [];
  if (value === null || typeof value !== 'object') return kinds;
  let ctor: unknown = (value as { constructor?: unknown }).constructor;
  while (typeof ctor === 'function') {
    const kind = (ctor as unknown as Record<symbol, unknown>)[ENTITY_KIND];
    if (typeof kind === 'string' && !kinds.includes(kind)) kinds.push(kind);
    ctor = Object.getPrototypeOf(ctor);
  }
  return kinds;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  const kinds = entityKinds(value);
  if (kinds.length > 0) return kinds[0]!;
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== '' ? name : 'object';
}

const WIRING = "use drizzle-orm/node-postgres on a pool the lens instruments: withDrizzle(drizzle({ client: lens.instrument(pool), schema }), lens)";

/**
 * Wires a Drizzle database (node-postgres driver) to the lens: every query it issues carries
 * `orm: 'drizzle'`, its table and operation, and the application's call site (captured where the
 * builder was created, since Drizzle runs it later, when awaited). Transactions run on one
 * connection as before; their queries are attributed the same way. Also instruments the pool or
 * client the db runs on (idempotent). Returns the same db.
 *
 * Throws a TypeError for anything that is not a Drizzle db on `drizzle-orm/node-postgres`
 * (postgres.js, PGlite, Neon… run on clients querylens cannot see).
 * @example
 * const pool = lens.instrument(new pg.Pool({ connectionString }));
 * const db = withDrizzle(drizzle({ client: pool, schema }), lens);
 * const posts = await db.query.posts.findMany({ with: { comments: true } });
 */
export function withDrizzle<DB extends object>(db: DB, lens: Lens): DB {
  if (!hasMethods(lens, ['withOperation', 'instrument'])) {
    throw new TypeError('querylens: withDrizzle(db, lens) expects a lens from createLens() second');
  }
  const kinds = entityKinds(db);
  if (!kinds.includes('PgDatabase')) {
    throw new TypeError(`querylens: withDrizzle() expects a Drizzle database; got ${describe(db)}. ${capitalize(WIRING)}.`);
  }
  const target = db as unknown as DrizzleDb;
  const sessionKinds = entityKinds(target.session);
  if (!sessionKinds.includes(NODE_PG_SESSION)) {
    throw new TypeError(
      `querylens: withDrizzle() supports Drizzle on node-postgres only; this db runs on ${describe(target.session)}. ` +
        `querylens observes pg pools, so ${WIRING}.`,
    );
  }
  if (wired.has(db)) return db;
  const client = target.$client ?? target.session.client;
  try {
    lens.instrument(client);
  } catch (cause) {
    throw new TypeError(`querylens: withDrizzle() found no node-postgres pool or client on this db (${describe(client)}); ${WIRING}.`, { cause });
  }
  wire(target, lens);
  return db;
}

/** Where the adapter defined an own property (to undo it on a transaction that is over). */
type Defined = [target: object, name: string][];

/** Sets the adapter's own properties on a db or transaction object; returns what it defined. */
function wire(db: DrizzleDb, lens: Lens): Defined {
  const added: Defined = [];
  if (wired.has(db)) return added;
  wired.add(db);
  const define = (target: object, name: string, value: Fn): void => {
    defineHidden(target, name, value);
    added.push([target, name]);
  };
  const relations = relationIndex(db);

  const op = (operation: string, model: string | undefined): OperationInfo => {
    const relation = model === undefined ? undefined : relations(model);
    return { orm: 'drizzle', operation, ...(model === undefined ? {} : { model }), ...(relation === undefined ? {} : { relation }) };
  };
  /**
   * Captures the call site now (the application is on the stack) and calls a Drizzle method with
   * `this` seeing a session whose queries will run with that call site.
   */
  const bound = <R>(self: object, info: OperationInfo, call: (self: object) => R): R =>
    call(withSession(self, bindSession(db.session, info, lens.deferOperation(), lens)));

  // A select's table is known at `from(source)`: the capture happens there.
  const fromCapture = (source: unknown, from: Fn, builder: object): unknown => bound(builder, op('select', tableName(source)), (self) => from.call(self, source));
  const selectLike = (name: string): void => {
    const original = method(db, name);
    if (original === undefined) return;
    define(db, name, function (this: unknown, ...args: unknown[]) {
      return wireFrom(original.apply(db, args), fromCapture);
    });
  };
  selectLike('select');
  selectLike('selectDistinct');
  selectLike('selectDistinctOn');

  for (const name of ['insert', 'update', 'delete', '$count', 'refreshMaterializedView'] as const) {
    const original = method(db, name);
    if (original === undefined) continue;
    const operation = name === '$count' ? 'count' : name;
    define(db, name, function (this: unknown, ...args: unknown[]) {
      return bound(db, op(operation, tableName(args[0])), (self) => original.apply(self, args));
    });
  }

  const execute = method(db, 'execute');
  if (execute !== undefined) {
    define(db, 'execute', function (this: unknown, ...args: unknown[]) {
      return bound(db, op('execute', undefined), (self) => execute.apply(self, args));
    });
  }

  // db.with(cte).select()/insert()…: the same captures, on the object `with` returns.
  const withCte = method(db, 'with');
  if (withCte !== undefined) {
    define(db, 'with', function (this: unknown, ...queries: unknown[]) {
      const plain = withCte.apply(db, queries) as Record<string, unknown>;
      const wrapped: Record<string, unknown> = { ...plain };
      for (const name of ['select', 'selectDistinct', 'selectDistinctOn']) {
        const original = plain[name];
        if (typeof original !== 'function') continue;
        wrapped[name] = (...args: unknown[]) => wireFrom((original as Fn)(...args), fromCapture);
      }
      for (const name of ['insert', 'update', 'delete']) {
        if (typeof plain[name] !== 'function') continue;
        wrapped[name] = (...args: unknown[]) =>
          bound(db, op(name, tableName(args[0])), (self) => ((withCte.apply(self, queries) as Record<string, Fn>)[name] as Fn)(...args));
      }
      return wrapped;
    });
  }

  // Relational queries: db.query.posts.findMany({ with: { comments: true } }).
  if (db.query !== undefined && db.query !== null && typeof db.query === 'object') {
    for (const builder of Object.values(db.query)) {
      if (builder === null || typeof builder !== 'object') continue;
      const model = typeof builder.tableConfig?.dbName === 'string' ? builder.tableConfig.dbName : undefined;
      for (const name of ['findMany', 'findFirst'] as const) {
        const original = builder[name];
        if (typeof original !== 'function') continue;
        define(builder, name, function (this: unknown, ...args: unknown[]) {
          return bound(builder, op(name, model), (self) => original.apply(self, args));
        });
      }
    }
  }

  // Transactions run on one connection (Drizzle's own session for it): wire the tx it hands out.
  const transaction = method(db, 'transaction');
  if (transaction !== undefined) {
    define(db, 'transaction', function (this: unknown, callback: unknown, ...rest: unknown[]) {
      if (typeof callback !== 'function') return transaction.call(db, callback, ...rest);
      return transaction.call(
        db,
        async (tx: unknown, ...more: unknown[]) => {
          if (!entityKinds(tx).includes('PgDatabase')) return (callback as Fn)(tx, ...more);
          const added = wire(tx as DrizzleDb, lens);
          try {
            return await (callback as Fn)(tx, ...more);
          } finally {
            // Drizzle itself runs COMMIT / RELEASE SAVEPOINT through tx.execute once the callback
            // is done: those are its statements, not the application's.
            unwire(tx as DrizzleDb, added);
          }
        },
        ...rest,
      );
    });
  }
  return added;
}

function unwire(db: DrizzleDb, added: Defined): void {
  for (const [target, name] of added) delete (target as Record<string, unknown>)[name];
  wired.delete(db);
}

function method(target: object, name: string): Fn | undefined {
  const value = (target as Record<string, unknown>)[name];
  return typeof value === 'function' ? (value as Fn) : undefined;
}

/** A view of `self` whose `session` is the given one (Drizzle methods read `this.session`). */
function withSession(self: object, session: object): object {
  return Object.create(self, { session: { value: session, writable: true, configurable: true } }) as object;
}

/**
 * `select()` returns an intermediate builder; its `from(source)` names the table. Patch that one
 * fresh object so the capture happens there.
 */
function wireFrom(builder: unknown, onFrom: (source: unknown, from: Fn, builder: object) => unknown): unknown {
  if (builder === null || typeof builder !== 'object') return builder;
  const from = method(builder, 'from');
  if (from === undefined) return builder;
  defineHidden(builder, 'from', function (this: unknown, source: unknown) {
    return onFrom(source, from, builder);
  });
  return builder;
}

/**
 * A view of the session whose prepared queries execute in an operation frame carrying the call
 * site captured with the builder — in the async context of the execution, so the unit of work is
 * the one the builder is awaited in. A named prepared statement (`.prepare('name')`) is meant to
 * be executed many times from elsewhere: its `execute` captures the call site at each call
 * instead (the application calls it directly).
 */
function bindSession(session: DrizzleSession, info: OperationInfo, deferred: Deferred, lens: Lens): DrizzleSession {
  const prepareQuery = session.prepareQuery;
  return Object.create(session, {
    prepareQuery: {
      configurable: true,
      writable: true,
      value(this: DrizzleSession, ...args: unknown[]) {
        const prepared = prepareQuery.apply(this, args);
        if (prepared === null || typeof prepared !== 'object') return prepared;
        const named = typeof args[2] === 'string' && args[2] !== '';
        for (const name of ['execute', 'all'] as const) {
          const run = method(prepared, name);
          if (run === undefined) continue;
          defineHidden(
            prepared,
            name,
            named
              ? function (this: unknown, ...a: unknown[]) {
                  return lens.withOperation(info, () => run.apply(prepared, a));
                }
              : function (this: unknown, ...a: unknown[]) {
                  return deferred(info, () => run.apply(prepared, a));
                },
          );
        }
        return prepared;
      },
    },
  }) as DrizzleSession;
}

/** A table's, view's or subquery's name (`posts`), without schema. */
function tableName(source: unknown): string | undefined {
  if (source === null || (typeof source !== 'object' && typeof source !== 'function')) return undefined;
  const record = source as Record<symbol | string, unknown>;
  const name = record[TABLE_NAME];
  if (typeof name === 'string') return name;
  const view = record[VIEW_CONFIG] as { name?: unknown } | undefined;
  if (view !== undefined && typeof view?.name === 'string') return view.name;
  const alias = (record['_'] as { alias?: unknown } | undefined)?.alias;
  return typeof alias === 'string' ? alias : undefined;
}

/**
 * The relation name the schema uses for a table, when it is unambiguous: `author` for `authors`
 * (posts.author and comments.author both point there), `comments` for `comments`. It turns the fix
 * text into the user's own `with: { author: true }`. Computed once per table per db.
 */
function relationIndex(db: DrizzleDb): (table: string) => string | undefined {
  const tables = db._?.schema;
  const memo = new Map<string, string | undefined>();
  return (table) => {
    if (tables === undefined) return undefined;
    if (memo.has(table)) return memo.get(table);
    const names = new Set<string>();
    for (const config of Object.values(tables)) {
      for (const [relationName, relation] of Object.entries(config.relations ?? {})) {
        const referenced = (relation as { referencedTableName?: unknown } | null)?.referencedTableName;
        if (referenced === table) names.add(relationName);
      }
    }
    const found = names.size === 1 ? [...names][0] : undefined;
    memo.set(table, found);
    return found;
  };
}
