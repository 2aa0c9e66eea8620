/**
 * How to fix a finding, said in the user's terms: the ORM that issued the query when an adapter
 * told us (Prisma `include`, Drizzle `with`, TypeORM `relations`, Sequelize `include`, Knex
 * `whereIn`, Kysely `jsonArrayFrom`), else the batched SQL statement itself, built from the loop's
 * own text with the key column the detector found. Built at report time only.
 */

export interface LoopFix {
  readonly orm: string | undefined;
  readonly model: string | undefined;
  readonly relation: string | undefined;
  /** The child statement's first table, without schema (`comments`). */
  readonly table: string | undefined;
  /** The column the loop filters on (`post_id`), when the statement says so plainly. */
  readonly column: string | undefined;
  /** The loop's statement rewritten with `= ANY($n)`, when possible. */
  readonly batched: string | undefined;
  /** The parameter the batched statement takes the keys in (`$1`). */
  readonly param: string;
  /** The parent query's summary and the column whose values fed the loop, when known. */
  readonly parentSummary: string | undefined;
  /** The parent query's first table, without schema (`posts`). */
  readonly parentTable: string | undefined;
  readonly parentColumn: string | undefined;
  readonly aggregate: 'count' | 'exists' | undefined;
  /** The child statement has its own LIMIT (top-n per parent). */
  readonly limited: boolean;
}

function keysPhrase(fix: LoopFix): string {
  return fix.parentColumn !== undefined && fix.parentSummary !== undefined
    ? `the ${fix.parentColumn} values of "${fix.parentSummary}"`
    : 'the keys the loop used';
}

function sqlFix(fix: LoopFix): string {
  const table = fix.table ?? 'the table';
  const col = fix.column;
  if (fix.aggregate === 'count' && col !== undefined) {
    return `Count all groups in one query: SELECT ${col}, count(*) FROM ${table} WHERE ${col} = ANY(${fix.param}) GROUP BY ${col} — with ${fix.param} = ${keysPhrase(fix)} — or LEFT JOIN ${table} … GROUP BY in the parent query.`;
  }
  if (fix.aggregate === 'count') return `Count all groups in one query with GROUP BY (or LEFT JOIN ${table} … GROUP BY in the parent query) instead of one count(*) per row.`;
  if (fix.aggregate === 'exists' && col !== undefined) {
    return `Ask once: SELECT DISTINCT ${col} FROM ${table} WHERE ${col} = ANY(${fix.param}) — with ${fix.param} = ${keysPhrase(fix)} — or select EXISTS(…) as a column of the parent query.`;
  }
  if (fix.limited && col !== undefined) {
    return `Fetch the top rows per parent in one query with a LATERAL join: … CROSS JOIN LATERAL (SELECT … FROM ${table} WHERE ${col} = parent.key … LIMIT n), instead of one query per row.`;
  }
  if (fix.batched !== undefined) {
    return `Batch it: ${fix.batched} — with ${fix.param} = ${keysPhrase(fix)} (one query instead of one per row), then group the rows by ${col ?? 'key'} in code; or JOIN ${table} in the parent query.`;
  }
  return 'Load all rows in one query (WHERE … = ANY($1) with all the keys, or a JOIN in the parent query) instead of one query per row.';
}

/** The fix for an N+1 (depends only on the statement, the parent and the ORM: callers may memoise it). */
export function nPlusOneSuggestion(fix: LoopFix): string {
  const rel = fix.relation ?? fix.table ?? 'the relation';
  const col = fix.column ?? 'key';
  switch (fix.orm?.toLowerCase()) {
    case 'prisma': {
      // Prisma names fields in camelCase and maps them to snake_case columns (@map): post_id → postId.
      const field = fix.column === undefined ? 'key' : fix.column.replace(/_([a-z0-9])/g, (_m: string, c: string) => c.toUpperCase());
      const delegate = fix.model === undefined ? '' : `prisma.${fix.model.charAt(0).toLowerCase()}${fix.model.slice(1)}.`;
      return fix.aggregate === 'count'
        ? `Prisma: count with the parent query — include: { _count: { select: { ${rel}: true } } } — or once with ${delegate}groupBy({ by: ['${field}'], where: { ${field}: { in: ids } }, _count: true }).`
        : `Prisma: load the relation with the parent query — include: { ${rel}: true } — or once with ${delegate}findMany({ where: { ${field}: { in: ids } } }), instead of a query per row.`;
    }
    case 'drizzle': {
      // The adapter names the relation when the schema's relations make it unambiguous.
      const table = fix.table ?? 'table';
      const parent = fix.parentTable ?? '<parent>';
      return fix.aggregate === 'count'
        ? `Drizzle: count all groups in one query — db.select({ ${col}: ${table}.${col}, count: count() }).from(${table}).where(inArray(${table}.${col}, ids)).groupBy(${table}.${col}) — or db.query.${parent}.findMany({ extras: … }), instead of a count per row.`
        : `Drizzle: load it with the parent query — db.query.${parent}.findMany({ with: { ${rel}: true } }) — or once for all rows with where(inArray(${table}.${col}, ids)), instead of a query per row.`;
    }
    case 'typeorm':
      // The adapter names the relation (a lazy one, or the inverse of the foreign key a findBy
      // loop filtered on); without it the table stands in for it.
      return fix.aggregate === 'count'
        ? `TypeORM: count with the parent query — createQueryBuilder('parent').loadRelationCountAndMap('parent.${rel}Count', 'parent.${rel}') — instead of a count() per row.`
        : `TypeORM: load ${rel} with the parent rows — find({ relations: { ${rel}: true } }) or createQueryBuilder('parent').leftJoinAndSelect('parent.${rel}', '${rel}') — instead of a query per row (a lazy relation or a find per row); or fetch them once with find({ where: { ${col}: In(ids) } }).`;
    case 'sequelize': {
      // The adapter names the queried model (the association's target) and the association's alias.
      const include = fix.model === undefined ? `{ association: '${rel}' }` : fix.relation === undefined ? `{ model: ${fix.model} }` : `{ model: ${fix.model}, as: '${fix.relation}' }`;
      return `Sequelize: load it with the parent query — findAll({ include: [${include}] }) — or once with ${fix.model ?? 'Model'}.findAll({ where: { ${col}: ids } }), instead of a query per row.`;
    }
    case 'knex':
      return `Knex: collect the keys and query once — knex('${fix.table ?? 'table'}').whereIn('${col}', ids) — then group the rows by ${col} in code.`;
    case 'objection':
      return fix.relation !== undefined
        ? `Objection: fetch the relation with the parent query — .withGraphFetched('${fix.relation}') — instead of $relatedQuery('${fix.relation}') per row (or once with ${fix.model ?? 'Model'}.query().whereIn('${col}', ids)).`
        : `Objection: fetch it with the parent query — .withGraphFetched('<relation>') — or once with ${fix.model ?? 'Model'}.query().whereIn('${col}', ids), instead of a query per row.`;
    case 'kysely': {
      // The loop filters the child on `col`; the parent column that fed it links the two (whereRef).
      // A child keyed by its own id is a to-one relation: jsonObjectFrom, else jsonArrayFrom.
      const table = fix.table ?? 'table';
      const parent = fix.parentTable ?? '<parent>';
      const helper = col === 'id' ? 'jsonObjectFrom' : 'jsonArrayFrom';
      return fix.aggregate === 'count'
        ? `Kysely: count all groups in one query — db.selectFrom('${table}').select(['${col}', (eb) => eb.fn.countAll().as('count')]).where('${col}', 'in', ids).groupBy('${col}') — instead of a count per row.`
        : `Kysely: nest the rows in the parent query — ${helper}(eb.selectFrom('${table}').selectAll().whereRef('${table}.${col}', '=', '${parent}.${fix.parentColumn ?? 'id'}')).as('${rel}') from 'kysely/helpers/postgres' — or query once for all rows with .where('${col}', 'in', ids), instead of a query per row.`;
    }
    case 'mikro-orm':
    case 'mikroorm':
      return `MikroORM: populate it with the parent query — find(…, { populate: ['${rel}'] }) — instead of loading it per row.`;
    default:
      return sqlFix(fix);
  }
}

export function batchableWritesSuggestion(command: string, table: string | undefined, count: number, orm: string | undefined): string {
  const t = table ?? 'the table';
  const ormHint =
    orm === undefined
      ? ''
      : ({
          prisma: ' (Prisma: createMany / updateMany / deleteMany)',
          drizzle: ' (Drizzle: insert(…).values([…]) with an array)',
          typeorm: ' (TypeORM: save([...]) / insert().values([...]) / delete(ids))',
          sequelize: ' (Sequelize: bulkCreate / update with where: { id: ids } / destroy with where: { id: ids })',
          knex: ' (Knex: insert([...]) / whereIn(...).update / whereIn(...).del)',
          objection: ' (Objection: query().insert([...]) / query().patch(…).whereIn(…) / query().delete().whereIn(…))',
          kysely: ' (Kysely: insertInto(…).values([...]) / where(…, "in", ids))',
        } as Record<string, string>)[orm.toLowerCase()] ?? '';
  switch (command) {
    case 'INSERT':
      return `Insert the ${count} rows in one statement: INSERT INTO ${t} (…) VALUES (…), (…), … or INSERT INTO ${t} (…) SELECT * FROM unnest($1::int[], $2::text[], …)${ormHint}.`;
    case 'UPDATE':
      return `Update the ${count} rows in one statement: UPDATE ${t} SET … FROM (VALUES (…), (…)) AS v(id, …) WHERE ${t}.id = v.id, or WHERE id = ANY($1) when the new values are the same${ormHint}.`;
    case 'DELETE':
      return `Delete the ${count} rows in one statement: DELETE FROM ${t} WHERE id = ANY($1)${ormHint}.`;
    default:
      return `Run the ${count} writes as one set-based statement (multi-row VALUES, unnest, or = ANY($1))${ormHint}.`;
  }
}

export function duplicateSuggestion(): string {
  return 'Run it once and reuse the result (pass it down, or memoise per request, e.g. a DataLoader), instead of querying the same rows again.';
}

export function largeResultSuggestion(rows: number): string {
  return `Do not load ${rows} rows at once: page with keyset pagination (WHERE id > $last ORDER BY id LIMIT n), stream them with a cursor (pg-cursor / pg-query-stream), or aggregate in SQL.`;
}

export function budgetSuggestion(topSummary: string, topCount: number): string {
  return `Most statements were "${topSummary}" (${topCount}×): batch repeated queries (= ANY($1), JOINs, eager loading) or raise the budget if this unit of work really needs them.`;
}
