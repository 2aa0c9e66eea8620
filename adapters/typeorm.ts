/**
 * querylens for TypeORM (PostgreSQL).
 *
 * The SQL itself is observed at the pg level: either TypeORM builds its pool from the module it is
 * given (`driver: lens.pgModule(pg)`), or `withTypeORM` instruments `dataSource.driver.master` once
 * the DataSource is initialized. What pg cannot know is what TypeORM was asked to do, and where.
 * `withTypeORM(dataSource, lens)` patches this DataSource's own objects (never TypeORM's
 * prototypes, so other DataSources are untouched) to say so:
 *
 * - its EntityManagers (`dataSource.manager`, and every manager the DataSource creates later: the
 *   ones transactions and query runners use). Repositories delegate to their manager, so
 *   `repo.findBy(…)` becomes operation `findBy` on model `Comment`, with the application's call
 *   site captured on entry, before TypeORM's first `await` loses it. When the filter is a
 *   foreign key whose relation has an inverse side (`findBy({ postId })`, `Post.comments`), that
 *   inverse relation is named too: it is what the loop should have loaded with its parents.
 * - its query builders (`dataSource.createQueryBuilder`, `repo.createQueryBuilder`): their
 *   `getMany()`, `getOne()`, `execute()` … say `typeorm`, the entity and the method.
 * - its RelationLoader, which every lazy relation (`await post.author`) and
 *   `relationLoadStrategy: 'query'` goes through: the relation's name travels with the query, so
 *   the N+1 suggestion can say `relations: { author: true }`.
 * - `initialize`, `synchronize`, migrations and `dropDatabase` run inside `lens.ignore`: TypeORM's
 *   bootstrap (`SELECT version()`, `current_database()`, `current_schema()`, extension checks,
 *   schema synchronization) is still observed (statistics, spans) but never analysed, so two
 *   DataSources initialised in one test never add up to a "duplicate".
 *
 * TypeORM is described structurally (an optional peer: nothing here imports it). Only
 * `type: 'postgres'` DataSources are accepted; anything else is a TypeError saying what to pass.
 */
import type { Lens, OperationInfo } from 'querylens';
import { defineHidden, describeValue, hasMethods } from './support.js';

/** The parts of a TypeORM DataSource this adapter needs; `typeorm`'s `DataSource` satisfies it. */
export interface TypeORMDataSourceLike {
  readonly options: { readonly type: string };
  readonly driver: object;
  readonly manager: object;
}

/** The operations of an EntityManager that issue SQL (repositories delegate every one of them). */
const MANAGER_OPERATIONS = [
  'find',
  'findBy',
  'findOne',
  'findOneBy',
  'findOneOrFail',
  'findOneByOrFail',
  'findAndCount',
  'findAndCountBy',
  'count',
  'countBy',
  'exists',
  'existsBy',
  'sum',
  'average',
  'minimum',
  'maximum',
  'preload',
  'save',
  'insert',
  'upsert',
  'update',
  'updateAll',
  'delete',
  'deleteAll',
  'remove',
  'softRemove',
  'recover',
  'softDelete',
  'restore',
  'increment',
  'decrement',
  'clear',
  'query',
  'sql',
] as const;

/** Manager operations whose second argument is the WHERE object, and those that take it as `{ where }`. */
const WHERE_ARG = new Set<string>(['findBy', 'findOneBy', 'findOneByOrFail', 'findAndCountBy', 'countBy', 'existsBy']);
const WHERE_OPTION = new Set<string>(['find', 'findOne', 'findOneOrFail', 'findAndCount', 'count', 'exists']);

/** Query builder methods that run SQL (Select, Insert, Update, Delete, SoftDelete and Relation builders). */
const BUILDER_TERMINALS = [
  'getMany',
  'getOne',
  'getOneOrFail',
  'getRawMany',
  'getRawOne',
  'getRawAndEntities',
  'getManyAndCount',
  'getCount',
  'getExists',
  'stream',
  'execute',
] as const;
/** A RelationQueryBuilder's (`createQueryBuilder().relation(Post, 'tags').of(post)`): `set` means something else elsewhere. */
const RELATION_TERMINALS = ['loadOne', 'loadMany', 'set', 'add', 'remove', 'addAndRemove'] as const;
/** Query builder methods that return a builder of another kind (a new object, to be tagged as well). */
const BUILDER_CONVERSIONS = ['insert', 'update', 'delete', 'softDelete', 'restore', 'relation'] as const;

/** DataSource methods whose statements are TypeORM's own housekeeping, never the application's loops. */
const BOOTSTRAP_METHODS = ['initialize', 'synchronize', 'runMigrations', 'undoLastMigration', 'showMigrations', 'dropDatabase'] as const;

type Method = (this: unknown, ...args: unknown[]) => unknown;
type Writable<T> = { -readonly [K in keyof T]: T[K] };

/** What TypeORM's metadata looks like from here. */
interface EntityMetadataLike {
  readonly name?: unknown;
  readonly relations?: readonly RelationMetadataLike[];
  findColumnWithPropertyName?(propertyName: string): ColumnMetadataLike | undefined;
}
interface ColumnMetadataLike {
  readonly databaseName?: unknown;
}
interface RelationMetadataLike {
  readonly propertyName?: unknown;
  readonly entityMetadata?: EntityMetadataLike;
  readonly isManyToOne?: unknown;
  readonly isOneToOneOwner?: unknown;
  readonly joinColumns?: readonly ColumnMetadataLike[];
  readonly inverseRelation?: RelationMetadataLike;
}
interface DataSourceInternals {
  readonly options: { readonly type?: unknown };
  readonly driver: { readonly master?: unknown; readonly slaves?: unknown };
  readonly manager: object;
  readonly relationLoader: object & { load?: unknown };
  readonly isInitialized?: unknown;
  hasMetadata(target: unknown): boolean;
  getMetadata(target: unknown): EntityMetadataLike;
  createEntityManager: Method;
  createQueryBuilder: Method;
}

/** One wiring of one DataSource: the lens it reports to, and what to put back. */
interface Wiring {
  readonly lens: Lens;
  readonly dataSource: DataSourceInternals;
  /**
   * Cleared by `unwrapTypeORM`: wrappers still installed elsewhere (managers of live query
   * runners, which are not tracked so that they can be collected) pass straight through.
   */
  on: boolean;
}

const wirings = new WeakMap<object, Wiring>();
/** Marks our wrappers, so a second patch of the same object (or a restore) can recognise them. */
const ORIGINAL = Symbol('querylens.typeorm.original');

/**
 * Depth of wrapped calls on the current synchronous stack. TypeORM calls itself (`find` →
 * `createQueryBuilder` → `getMany`, `findOneOrFail` → `findOne`, `manager.query` →
 * `dataSource.query`) before its first `await`; those inner calls keep the outer operation (the
 * one the application asked for) instead of opening frames of their own. Only the synchronous
 * part counts, so concurrent units of work cannot see each other's depth.
 */
let depth = 0;

function runOperation(lens: Lens, info: OperationInfo, fn: () => unknown): unknown {
  depth++;
  try {
    return lens.withOperation(info, fn);
  } finally {
    depth--;
  }
}


function assertDataSource(value: unknown): asserts value is DataSourceInternals {
  const ds = value as Partial<Record<keyof DataSourceInternals, unknown>> | null | undefined;
  const looksLikeDataSource =
    ds !== null &&
    typeof ds === 'object' &&
    typeof ds.options === 'object' &&
    ds.options !== null &&
    typeof ds.driver === 'object' &&
    ds.driver !== null &&
    typeof ds.manager === 'object' &&
    typeof ds.relationLoader === 'object' &&
    ds.relationLoader !== null &&
    typeof ds.createEntityManager === 'function' &&
    typeof ds.createQueryBuilder === 'function' &&
    typeof ds.hasMetadata === 'function';
  if (looksLikeDataSource) return;
  // The objects people hold instead of the DataSource: point at the one they can reach from there.
  const hint =
    ds !== null && typeof ds === 'object' && 'manager' in ds && 'metadata' in ds
      ? ' (this looks like a Repository: pass repository.manager.dataSource)'
      : ds !== null && typeof ds === 'object' && 'dataSource' in ds && 'connection' in ds
        ? ' (this looks like an EntityManager: pass manager.dataSource)'
        : ds !== null && typeof ds === 'object' && typeof (ds as { connect?: unknown }).connect === 'function' && 'totalCount' in ds
          ? ' (this looks like a pg.Pool: use lens.instrument(pool) for raw pg, or pass the TypeORM DataSource here)'
          : '';
  throw new TypeError(
    `querylens: withTypeORM() expects a TypeORM DataSource (new DataSource({ type: 'postgres', driver: lens.pgModule(pg), … })); got ${describeValue(value)}${hint}`,
  );
}

function assertLens(value: unknown): asserts value is Lens {
  if (!hasMethods(value, ['withOperation', 'ignore', 'instrument'])) {
    throw new TypeError(`querylens: withTypeORM() expects a lens from createLens() second; got ${describeValue(value)}`);
  }
}

/** The entity name behind an EntityManager call's first argument (a target, or the entity itself for save/remove). */
function modelOf(ds: DataSourceInternals, first: unknown): string | undefined {
  try {
    let target: unknown = Array.isArray(first) ? first[0] : first;
    if (target === null || target === undefined) return undefined;
    if (typeof target === 'string' && /\s/.test(target)) return undefined; // raw SQL of manager.query()
    if (typeof target === 'object' && !ds.hasMetadata(target)) target = (target as { constructor?: unknown }).constructor;
    if (!ds.hasMetadata(target)) return undefined;
    const name = ds.getMetadata(target).name;
    return typeof name === 'string' ? name : undefined;
  } catch {
    // A target TypeORM itself will reject: the operation's own error is the one to surface.
    return undefined;
  }
}

/**
 * For a read filtered on a foreign key (`commentRepo.findBy({ postId })` or `{ post: { id } }`),
 * the inverse relation on the parent entity (`Post.comments`): loading it with the parents is the
 * fix for a loop of such reads. Undefined when the relation has no inverse side.
 */
function inverseRelationOf(ds: DataSourceInternals, operation: string, args: readonly unknown[]): string | undefined {
  let where: unknown;
  if (WHERE_ARG.has(operation)) where = args[1];
  else if (WHERE_OPTION.has(operation)) where = (args[1] as { where?: unknown } | null | undefined)?.where;
  else return undefined;
  if (where === null || typeof where !== 'object' || Array.isArray(where)) return undefined;
  try {
    const target = args[0];
    if (!ds.hasMetadata(target)) return undefined;
    const metadata = ds.getMetadata(target);
    const relations = metadata.relations ?? [];
    for (const key of Object.keys(where)) {
      const column = metadata.findColumnWithPropertyName?.(key)?.databaseName;
      for (const relation of relations) {
        if (relation.isManyToOne !== true && relation.isOneToOneOwner !== true) continue;
        const matches = relation.propertyName === key || (column !== undefined && (relation.joinColumns ?? []).some((c) => c.databaseName === column));
        const inverse = relation.inverseRelation?.propertyName;
        if (matches && typeof inverse === 'string') return inverse;
      }
    }
  } catch {
    // Metadata TypeORM itself would reject: no relation to name.
  }
  return undefined;
}

/** Replaces `obj[key]` with `make(original)`, once; the original stays reachable for `unwrapTypeORM`. */
function patch(obj: object, key: string, make: (original: Method) => Method): void {
  const current = (obj as Record<string, unknown>)[key];
  if (typeof current !== 'function' || ORIGINAL in current) return;
  const original = current as Method;
  const wrapper = make(original);
  Object.defineProperty(wrapper, ORIGINAL, { value: { original, own: Object.hasOwn(obj, key) } });
  Object.defineProperty(wrapper, 'name', { value: original.name, configurable: true });
  defineHidden(obj, key, wrapper);
}

function patchManager(wiring: Wiring, manager: unknown): void {
  if (manager === null || typeof manager !== 'object') return;
  const { lens, dataSource } = wiring;
  for (const operation of MANAGER_OPERATIONS) {
    patch(manager, operation, (original) =>
      function (this: unknown, ...args: unknown[]): unknown {
        if (!wiring.on || depth > 0) return Reflect.apply(original, this, args);
        const info: Writable<OperationInfo> = { orm: 'typeorm', operation };
        const model = modelOf(dataSource, args[0]);
        if (model !== undefined) info.model = model;
        const relation = inverseRelationOf(dataSource, operation, args);
        if (relation !== undefined) info.relation = relation;
        return runOperation(lens, info, () => Reflect.apply(original, this, args));
      },
    );
  }
}

function patchRelationLoader(wiring: Wiring): void {
  const { lens } = wiring;
  patch(wiring.dataSource.relationLoader, 'load', (original) =>
    function (this: unknown, ...args: unknown[]): unknown {
      if (!wiring.on) return Reflect.apply(original, this, args);
      // A lazy getter (`await post.author`) calls load() synchronously: the application's line is
      // still on the stack here. relationLoadStrategy 'query' passes all parents at once (batched).
      const relation = args[0] as RelationMetadataLike | null | undefined;
      const name = relation?.propertyName;
      const model = relation?.entityMetadata?.name;
      // It is more specific than any operation around it, so it always opens its own frame.
      const info: Writable<OperationInfo> = { orm: 'typeorm', operation: Array.isArray(args[1]) ? 'loadRelation' : 'lazyLoad' };
      if (typeof model === 'string') info.model = model;
      if (typeof name === 'string') info.relation = name;
      return runOperation(lens, info, () => Reflect.apply(original, this, args));
    },
  );
}

/** Instruments the pools of an initialized DataSource (a no-op for pools built by `lens.pgModule(pg)`). */
function instrumentPools(wiring: Wiring): void {
  const { lens, dataSource } = wiring;
  const driver = dataSource.driver;
  const pools = [driver.master, ...(Array.isArray(driver.slaves) ? (driver.slaves as unknown[]) : [])];
  for (const pool of pools) {
    if (pool === undefined || pool === null) continue;
    try {
      lens.instrument(pool);
    } catch (err) {
      throw new TypeError(
        `querylens: withTypeORM() could not instrument this DataSource's pool (${describeValue(pool)}); build the DataSource with driver: lens.pgModule(pg) instead`,
        { cause: err },
      );
    }
  }
}

function patchDataSource(wiring: Wiring): void {
  const { lens, dataSource } = wiring;
  for (const method of BOOTSTRAP_METHODS) {
    patch(dataSource, method, (original) =>
      function (this: unknown, ...args: unknown[]): unknown {
        if (!wiring.on) return Reflect.apply(original, this, args);
        const result = lens.ignore(() => Reflect.apply(original, this, args));
        // The pool exists once initialize() is done: instrument it if pgModule() did not.
        return method === 'initialize' ? Promise.resolve(result).then((value) => (instrumentPools(wiring), value)) : result;
      },
    );
  }
  // Transactions and query runners get managers of their own, made here.
  patch(dataSource, 'createEntityManager', (original) =>
    function (this: unknown, ...args: unknown[]): unknown {
      const manager = Reflect.apply(original, this, args);
      if (wiring.on) patchManager(wiring, manager);
      return manager;
    },
  );
  // dataSource.query() does not go through the manager.
  patch(dataSource, 'query', (original) =>
    function (this: unknown, ...args: unknown[]): unknown {
      if (!wiring.on || depth > 0) return Reflect.apply(original, this, args);
      return runOperation(lens, { orm: 'typeorm', operation: 'query' }, () => Reflect.apply(original, this, args));
    },
  );
  // Builders the application makes (repositories' and managers' too: they go through here).
  // TypeORM's own are left alone: those made in the synchronous part of an operation (depth), and
  // those its relation-id loaders make later from a bare QueryRunner, which would otherwise
  // replace the operation the application asked for (`find`) with an internal `getRawMany`.
  patch(dataSource, 'createQueryBuilder', (original) =>
    function (this: unknown, ...args: unknown[]): unknown {
      const builder = Reflect.apply(original, this, args);
      if (wiring.on && depth === 0 && !(args.length === 1 && isQueryRunner(args[0]))) patchBuilder(wiring, builder);
      return builder;
    },
  );
}

function isQueryRunner(value: unknown): boolean {
  const runner = value as { release?: unknown; connect?: unknown; manager?: unknown } | null | undefined;
  return runner !== null && typeof runner === 'object' && typeof runner.release === 'function' && typeof runner.connect === 'function' && 'manager' in runner;
}

/** The entity a builder selects from / writes to, once it is built (read when it runs). */
function builderModel(builder: unknown): string | undefined {
  try {
    const map = (builder as { expressionMap?: { mainAlias?: { hasMetadata?: unknown; metadata?: EntityMetadataLike } } }).expressionMap;
    // mainAlias is a getter that throws until from()/update(Entity) set one.
    const alias = map?.mainAlias;
    const name = alias?.hasMetadata === true ? alias.metadata?.name : undefined;
    return typeof name === 'string' ? name : undefined;
  } catch {
    return undefined;
  }
}

function patchBuilder(wiring: Wiring, builder: unknown, terminals: readonly string[] = BUILDER_TERMINALS): void {
  if (builder === null || typeof builder !== 'object') return;
  const { lens } = wiring;
  for (const operation of terminals) {
    patch(builder, operation, (original) =>
      function (this: unknown, ...args: unknown[]): unknown {
        if (!wiring.on || depth > 0) return Reflect.apply(original, this, args);
        const info: Writable<OperationInfo> = { orm: 'typeorm', operation };
        const model = builderModel(this);
        if (model !== undefined) info.model = model;
        return runOperation(lens, info, () => Reflect.apply(original, this, args));
      },
    );
  }
  for (const conversion of BUILDER_CONVERSIONS) {
    patch(builder, conversion, (original) =>
      function (this: unknown, ...args: unknown[]): unknown {
        const next = Reflect.apply(original, this, args);
        if (next !== this && wiring.on) patchBuilder(wiring, next, conversion === 'relation' ? RELATION_TERMINALS : BUILDER_TERMINALS);
        return next;
      },
    );
  }
}

/**
 * Wires a TypeORM DataSource (`type: 'postgres'`) to a lens and returns the same DataSource.
 * Call it before `initialize()` so TypeORM's bootstrap is never analysed; calling it later
 * instruments the existing pool. Idempotent for the same lens.
 *
 * Queries then carry `orm: 'typeorm'`, the entity (`model`), the operation (`find`, `findOneBy`,
 * `lazyLoad` …), the lazy relation's name, and the application's call site; N+1 findings suggest
 * `relations: { author: true }` / `leftJoinAndSelect`.
 *
 * @throws TypeError for anything but a TypeORM DataSource of type 'postgres', or a second lens.
 * @example
 * import pg from 'pg';
 * import { DataSource } from 'typeorm';
 * import { createLens } from 'querylens';
 * import { withTypeORM } from 'querylens/adapters/typeorm';
 *
 * const lens = createLens();
 * const dataSource = withTypeORM(new DataSource({ type: 'postgres', url, driver: lens.pgModule(pg), entities }), lens);
 * await dataSource.initialize();
 */
export function withTypeORM<D extends TypeORMDataSourceLike>(dataSource: D, lens: Lens): D {
  assertDataSource(dataSource);
  assertLens(lens);
  const type = dataSource.options.type;
  if (type !== 'postgres') {
    throw new TypeError(
      `querylens: withTypeORM() supports TypeORM DataSources of type 'postgres' (node-postgres), not ${JSON.stringify(type)}; ` +
        `querylens observes PostgreSQL through pg: use new DataSource({ type: 'postgres', driver: lens.pgModule(pg), … })`,
    );
  }
  const known = wirings.get(dataSource);
  if (known !== undefined) {
    if (known.lens === lens) return dataSource;
    throw new TypeError('querylens: this DataSource is already wired to another lens; call unwrapTypeORM(dataSource) first');
  }
  const wiring: Wiring = { lens, dataSource, on: true };
  wirings.set(dataSource, wiring);
  patchDataSource(wiring);
  patchManager(wiring, dataSource.manager);
  patchRelationLoader(wiring);
  if (dataSource.isInitialized === true) instrumentPools(wiring);
  return dataSource;
}

/**
 * Undoes `withTypeORM`: the DataSource, its managers and its RelationLoader get their own methods
 * back (wrappers someone else captured meanwhile pass straight through). The pool stays
 * instrumented: `lens.uninstrument(dataSource.driver.master)` for that. Idempotent.
 */
export function unwrapTypeORM<D extends TypeORMDataSourceLike>(dataSource: D): D {
  const wiring = wirings.get(dataSource);
  if (wiring === undefined) return dataSource;
  wiring.on = false;
  wirings.delete(dataSource);
  for (const obj of [wiring.dataSource, wiring.dataSource.manager, wiring.dataSource.relationLoader]) {
    for (const key of Object.getOwnPropertyNames(obj)) {
      const value = (obj as Record<string, unknown>)[key];
      if (typeof value !== 'function' || !(ORIGINAL in value)) continue;
      const saved = (value as unknown as { [ORIGINAL]: { original: Method; own: boolean } })[ORIGINAL];
      if (saved.own) defineHidden(obj, key, saved.original);
      else delete (obj as Record<string, unknown>)[key];
    }
  }
  return dataSource;
}
