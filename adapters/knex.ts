/**
 * Knex and Objection.js, in their own terms.
 *
 * Wiring: Knex ≥ 3.3 takes the application's own pg pool (`connectionPool`), so the lens sees every
 * statement once that pool is instrumented; older Knex builds its pool from raw pg clients, which
 * `querylensAfterCreate(lens)` instruments one by one as tarn creates them.
 *
 * What the adapter adds: Knex builders are lazy thenables. The application writes
 * `await knex('comments').where(…)` on one line, but Knex runs the query from `then()`, which V8
 * calls from a microtask where that line is no longer on the stack. So the call site is captured
 * when the builder is *created* (`lens.deferOperation()`: `knex(table)`, `knex.select()`,
 * `knex.raw()`, `knex.schema`, the same inside transactions) and applied when the builder *runs*,
 * together with what only the run knows: the table and the method (`select`, `first`, `insert`…).
 * Objection's query builders are lazy the same way; `withObjection` does the same one level up and
 * adds the model and the relation (`$relatedQuery('author')`), whose fix is `withGraphFetched`.
 *
 * Everything is patched per instance (own properties on the Knex client and each transaction's
 * client, on the model class the application passes), never on Knex's or Objection's prototypes.
 * Knex and Objection are described structurally here; neither is imported.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { InstrumentOptions, Lens, OperationInfo } from 'querylens';
import { describeValue, hasMethods, isObject } from './support.js';

type Method = (this: unknown, ...args: unknown[]) => unknown;
type RunOperation = <R>(operation: OperationInfo, fn: () => R) => R;
type Bag = Record<PropertyKey, unknown>;

/** What `withKnex` accepts: the function `knex({ client: 'pg', … })` returns (or a transaction). */
export interface KnexLike {
  readonly client: unknown;
}

/** An Objection model class (`objection.Model` or, better, the application's own base model). */
export interface ObjectionModelClassLike {
  readonly name: string;
  query(...args: never[]): unknown;
  relatedQuery(...args: never[]): unknown;
  readonly prototype: object;
}

/** `pool.afterCreate` as Knex calls it (promisified: a node-style callback). */
export type KnexAfterCreate = (connection: unknown, done: (error: Error | null, connection: unknown) => void) => void;

/** Builder → the operation runner holding the application's call site (captured at creation). */
const deferred = new WeakMap<object, RunOperation>();
/** Objection builder → what the application asked for (model, relation). */
const objectionQueries = new WeakMap<object, { readonly run: RunOperation; readonly model: string; relation: string | undefined }>();
/** Set while an Objection query executes: the Knex builders it creates internally add nothing. */
const insideObjection = new AsyncLocalStorage<true>();
/** Clients (and Objection model classes) already patched, with their lens. */
const patched = new WeakMap<object, Lens>();

const BUILDER_FACTORIES = ['queryBuilder', 'raw', 'schemaBuilder'] as const;



function checkLens(lens: unknown, fn: string): asserts lens is Lens {
  if (!hasMethods(lens, ['deferOperation', 'instrument'])) {
    throw new TypeError(`querylens: ${fn}() expects the lens second (const lens = createLens(); ${fn}(…, lens)); got ${describeValue(lens)}`);
  }
}

/** What only the run knows: the builder's table and method. */
function knexOperation(builder: Bag): OperationInfo {
  const single = builder['_single'];
  const table = isObject(single) && typeof single['table'] === 'string' ? single['table'] : undefined;
  const method = typeof builder['_method'] === 'string' ? builder['_method'] : builder['_sequence'] !== undefined ? 'schema' : 'raw';
  return table === undefined ? { orm: 'knex', operation: method } : { orm: 'knex', model: table, operation: method };
}

/** Wraps the runner Knex makes for a builder that the application created. */
function wrapRunner(runner: unknown, builder: unknown): unknown {
  if (!isObject(runner) || !isObject(builder)) return runner;
  const run = deferred.get(builder);
  if (run === undefined || insideObjection.getStore() === true) return runner;
  for (const name of ['run', 'stream'] as const) {
    const original = runner[name];
    if (typeof original !== 'function') continue;
    runner[name] = function querylensKnexRun(this: unknown, ...args: unknown[]): unknown {
      return run(knexOperation(builder), () => (original as Method).apply(this, args));
    };
  }
  return runner;
}

function patchClient(client: Bag, lens: Lens): void {
  if (patched.has(client)) return;
  patched.set(client, lens);
  for (const name of BUILDER_FACTORIES) {
    const original = client[name];
    if (typeof original !== 'function') continue;
    client[name] = function querylensKnexBuilder(this: unknown, ...args: unknown[]): unknown {
      const builder = (original as Method).apply(this, args);
      // Here the application's line is still on the stack (knex('posts'), knex.raw(…), trx('posts')).
      if (isObject(builder) && insideObjection.getStore() !== true) deferred.set(builder, lens.deferOperation());
      return builder;
    };
  }
  const runner = client['runner'];
  if (typeof runner === 'function') {
    client['runner'] = function querylensKnexRunner(this: unknown, builder: unknown): unknown {
      return wrapRunner((runner as Method).call(this, builder), builder);
    };
  }
  // Each transaction gets a client of its own (made from the prototype, not from this one): patch
  // it when Knex hands the transaction to its container (the callback, or the promise form's resolve).
  const transaction = client['transaction'];
  if (typeof transaction === 'function') {
    client['transaction'] = function querylensKnexTransaction(this: unknown, container: unknown, ...rest: unknown[]): unknown {
      const wrapped =
        typeof container === 'function'
          ? function querylensKnexTransactor(this: unknown, trx: unknown, ...more: unknown[]): unknown {
              if (isObject(trx) && isObject(trx['client'])) patchClient(trx['client'], lens);
              return (container as Method).call(this, trx, ...more);
            }
          : container;
      return (transaction as Method).call(this, wrapped, ...rest);
    };
  }
}

function knexClientOf(knex: unknown, fn: string): Bag {
  const client = isObject(knex) ? knex['client'] : undefined;
  if (typeof knex !== 'function' || !isObject(client) || typeof client['queryBuilder'] !== 'function' || typeof client['runner'] !== 'function') {
    throw new TypeError(
      `querylens: ${fn}() expects a Knex instance (what knex({ client: 'pg', connectionPool: lens.instrument(pool) }) returns); got ${describeValue(knex)}`,
    );
  }
  // Knex's PostgreSQL dialects (pg, CockroachDB) talk through node-postgres, which is what the lens instruments.
  if (client['driverName'] !== 'pg') {
    const config = client['config'];
    const name = isObject(config) && typeof config['client'] === 'string' ? config['client'] : String(client['dialect'] ?? client['driverName']);
    throw new TypeError(
      `querylens: ${fn}() needs a Knex on node-postgres (client: 'pg'); this one uses ${JSON.stringify(name)}. querylens observes PostgreSQL through pg: use knex({ client: 'pg', connectionPool: lens.instrument(new pg.Pool(…)) }).`,
    );
  }
  return client;
}

/**
 * Adds Knex's view of each statement to the lens: the application's line where the builder was
 * created (Knex runs it later, from `then()`), the table, the method, and `orm: 'knex'` (fix text
 * `whereIn`). The statements themselves reach the lens through the instrumented pool. Returns the
 * same Knex instance. Idempotent.
 * @example
 * const pool = lens.instrument(new pg.Pool({ connectionString }));
 * const db = withKnex(knex({ client: 'pg', connectionPool: pool }), lens);
 */
export function withKnex<K extends KnexLike>(knex: K, lens: Lens): K {
  checkLens(lens, 'withKnex');
  const client = knexClientOf(knex, 'withKnex');
  const owner = patched.get(client);
  if (owner !== undefined && owner !== lens) throw new TypeError('querylens: withKnex(): this Knex instance is already observed by another lens');
  patchClient(client, lens);
  return knex;
}

/**
 * For Knex before 3.3 (no `connectionPool`): a `pool.afterCreate` hook that instruments each raw pg
 * client as Knex's pool creates it. `next`, if given, is the application's own `afterCreate`,
 * called after. The connection's setup statements (`select version()`, `set search_path`) run
 * before the hook and are not seen.
 * @example knex({ client: 'pg', connection, pool: { afterCreate: querylensAfterCreate(lens) } })
 */
export function querylensAfterCreate(lens: Lens, next?: KnexAfterCreate, options?: InstrumentOptions): KnexAfterCreate {
  checkLens(lens, 'querylensAfterCreate');
  if (next !== undefined && typeof next !== 'function') throw new TypeError(`querylens: querylensAfterCreate() expects the next afterCreate hook to be a function; got ${describeValue(next)}`);
  return (connection, done) => {
    try {
      lens.instrument(connection, options);
    } catch (error) {
      done(error instanceof Error ? error : new Error(String(error)), connection);
      return;
    }
    if (next === undefined) done(null, connection);
    else next(connection, done);
  };
}

function objectionOperation(builder: Bag, model: string, relation: string | undefined): OperationInfo {
  const is = (name: string): boolean => typeof builder[name] === 'function' && (builder[name] as Method).call(builder) === true;
  const operation = relation !== undefined ? 'relatedQuery' : is('isFind') ? 'find' : is('isInsert') ? 'insert' : is('isUpdate') ? 'update' : is('isDelete') ? 'delete' : 'query';
  return relation === undefined ? { orm: 'objection', model, operation } : { orm: 'objection', model, operation, relation };
}

/** Remembers an Objection builder the application just created, and runs its execution in its frame. */
function rememberObjection(builder: unknown, lens: Lens, model: string): void {
  if (!isObject(builder) || objectionQueries.has(builder) || insideObjection.getStore() === true) return;
  const execute = builder['execute'];
  if (typeof execute !== 'function') return;
  const entry = { run: lens.deferOperation(), model, relation: undefined as string | undefined };
  objectionQueries.set(builder, entry);
  // then() and catch() call execute(): an own property on this builder only.
  builder['execute'] = function querylensObjectionExecute(this: unknown, ...args: unknown[]): unknown {
    if (insideObjection.getStore() === true) return (execute as Method).apply(this, args);
    return entry.run(objectionOperation(builder, entry.model, entry.relation), () => insideObjection.run(true, () => (execute as Method).apply(this, args)));
  };
}

/**
 * Adds Objection's view: the model, the relation of `$relatedQuery` / `relatedQuery` (fix text
 * `withGraphFetched`), and the application's line where the query was built. Pass your base model
 * class (every model extending it is covered) or `Model` itself; bind it to a Knex on an
 * instrumented pool as usual (`Model.knex(knex)`). Returns the same class. Idempotent.
 * @example
 * class BaseModel extends Model {}
 * withObjection(BaseModel, lens);
 * BaseModel.knex(knex({ client: 'pg', connectionPool: lens.instrument(pool) }));
 */
export function withObjection<M extends ObjectionModelClassLike>(modelClass: M, lens: Lens): M {
  checkLens(lens, 'withObjection');
  const cls = modelClass as unknown;
  if (typeof cls !== 'function' || typeof (cls as unknown as Bag)['query'] !== 'function' || typeof (cls as unknown as Bag)['relatedQuery'] !== 'function' || !isObject(cls.prototype) || typeof (cls.prototype as Bag)['$relatedQuery'] !== 'function') {
    throw new TypeError(`querylens: withObjection() expects an Objection model class (Model, or your base model extending it); got ${describeValue(cls)}`);
  }
  const owner = patched.get(cls);
  if (owner === lens) return modelClass;
  if (owner !== undefined) throw new TypeError('querylens: withObjection(): this model class is already observed by another lens');
  patched.set(cls, lens);
  const statics = cls as unknown as Bag;
  const query = statics['query'] as Method;
  // Every Objection query starts at Model.query() (relatedQuery and $query build on it), synchronously.
  statics['query'] = function querylensObjectionQuery(this: unknown, ...args: unknown[]): unknown {
    const builder = query.apply(this, args);
    rememberObjection(builder, lens, typeof this === 'function' ? this.name : modelClass.name);
    return builder;
  };
  const withRelation = (original: Method) =>
    function querylensObjectionRelated(this: unknown, relationName: unknown, ...rest: unknown[]): unknown {
      const builder = original.call(this, relationName, ...rest);
      const entry = isObject(builder) ? objectionQueries.get(builder) : undefined;
      if (entry !== undefined && typeof relationName === 'string') entry.relation = relationName;
      return builder;
    };
  statics['relatedQuery'] = withRelation(statics['relatedQuery'] as Method);
  const proto = cls.prototype as Bag;
  proto['$relatedQuery'] = withRelation(proto['$relatedQuery'] as Method);
  return modelClass;
}
