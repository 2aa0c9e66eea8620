/**
 * Report-time classification of one scope's groups (DESIGN.md "What counts as an N+1"). Runs at
 * scope end, or earlier for a group of an old scope that crossed its threshold, and only for
 * shapes that repeated. Steps per fingerprint:
 *
 * 1. Split executions by call site. Decoding is the costly part, so when a fingerprint has more
 *    than CALLSITE_PROBES executions the first and last are decoded first; if they show one call site,
 *    all executions belong to it, otherwise every execution is decoded. Executions without a call
 *    site (sampled policy) join the largest known site.
 * 2. Per site: count, distinct parameter sets (inline literals included), overlap in time
 *    (`concurrent`), and whether every statement already carries several keys (a chunked batch).
 * 3. Reads: result-row linking (every execution's value in one slot was returned earlier by one
 *    other query, in a plausible column) proves an N+1 from 2 repeats and names the parent;
 *    otherwise keyset pagination (each execution's value came from the previous one's last row)
 *    is left alone; otherwise the threshold decides, with the adjacent single read as the parent.
 * 4. Writes: the threshold decides batchable writes. Reads with identical parameters outside any
 *    N+1 are duplicates. Large results and the scope's budget are checked as well.
 */
import type {
  BatchableWritesFinding,
  DuplicateFinding,
  Finding,
  FindingParent,
  LargeResultFinding,
  NPlusOneFinding,
  QueryBudgetFinding,
} from '../core/finding.js';
import type { Callsite, ScopeInfo } from '../core/query-event.js';
import type { SqlInfo } from '../core/sql-info.js';
import { sanitize } from '../sql/index.js';
import type { AllowList } from './allow-list.js';
import { CALLSITE_PROBES, MAX_SHAPES } from './limits.js';
import type { Execution, Group, Origin, OriginEntry, ScopeState } from './scope-state.js';
import { bareTable, batchedStatement, linkStrength, literalValues, statementShape, type Slot, type StatementShape } from './statement-shape.js';
import { batchableWritesSuggestion, budgetSuggestion, duplicateSuggestion, largeResultSuggestion, nPlusOneSuggestion } from './suggestions.js';
import { isDistinctiveKey, keysCarried, paramSetKey, valueKey, type ValueKey } from './value-keys.js';

/** The detector options, resolved: a threshold per detector, or false when it is off. */
export interface DetectConfig {
  readonly nPlusOne: number | false;
  readonly duplicates: number | false;
  readonly batchableWrites: number | false;
  readonly budget: number | false;
  readonly largeResult: number | false;
  readonly allow: AllowList;
  readonly reportAfterMs: number | false;
}

/** Longest SQL text put into a finding. */
const MAX_FINDING_SQL = 4000;
const WRITE_COMMANDS: ReadonlySet<string> = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE']);

interface Site {
  readonly key: string;
  readonly callsite: Callsite | undefined;
  readonly records: Execution[];
  count: number;
  totalMs: number;
}

function siteKey(cs: Callsite): string {
  return `${cs.file}:${cs.line}:${cs.column}`;
}

function where(cs: Callsite): string {
  return `${cs.file}:${cs.line}${cs.function ? ` (${cs.function})` : ''}`;
}

/** ` at file:line`, or `, first at file:line` with a lead-in of its own; '' without a call site. */
function at(cs: Callsite | undefined, word = 'at', lead = ' '): string {
  return cs === undefined ? '' : `${lead}${word} ${where(cs)}`;
}

function sumMs(records: readonly Execution[]): number {
  let ms = 0;
  for (const r of records) ms += r.endTime - r.startTime;
  return ms;
}

/** Step 1: executions by call site. */
function splitBySite(group: Group): Site[] {
  const records = group.records;
  const n = records.length;
  if (n > CALLSITE_PROBES) {
    // Probe the first, the last and evenly spaced executions; if they agree, all are from there.
    let only: Callsite | undefined;
    let several = false;
    for (let p = 0; p < CALLSITE_PROBES && !several; p++) {
      const cs = records[p === 0 ? 0 : p === 1 ? n - 1 : Math.floor(((p - 1) * n) / (CALLSITE_PROBES - 1))]!.callsite?.resolve();
      if (cs === undefined) continue;
      if (only === undefined) only = cs;
      else if (siteKey(only) !== siteKey(cs)) several = true;
    }
    // Sampled call sites (production): the probes may all have missed the few captured ones.
    for (let i = 0; only === undefined && i < n; i++) if (records[i]!.callsite !== undefined) only = records[i]!.callsite!.resolve();
    if (!several) return [{ key: only === undefined ? '' : siteKey(only), callsite: only, records, count: group.count, totalMs: group.totalMs }];
  }
  const sites = new Map<string, Site>();
  const unknown: Execution[] = [];
  for (const r of records) {
    const cs = r.callsite?.resolve();
    if (cs === undefined) {
      unknown.push(r);
      continue;
    }
    const key = siteKey(cs);
    let site = sites.get(key);
    if (site === undefined) {
      site = { key, callsite: cs, records: [], count: 0, totalMs: 0 };
      sites.set(key, site);
    }
    site.records.push(r);
  }
  let largest: Site | undefined;
  for (const s of sites.values()) if (largest === undefined || s.records.length > largest.records.length) largest = s;
  if (largest === undefined) {
    largest = { key: '', callsite: undefined, records: [], count: 0, totalMs: 0 };
    sites.set('', largest);
  }
  if (unknown.length > 0) {
    largest.records.push(...unknown);
    largest.records.sort((a, b) => a.seq - b.seq);
  }
  let recordedMs = 0;
  for (const s of sites.values()) {
    s.count = s.records.length;
    s.totalMs = sumMs(s.records);
    recordedMs += s.totalMs;
  }
  // Executions past the record caps have no call site: they go to the busiest one.
  largest.count += group.count - n;
  largest.totalMs += Math.max(0, group.totalMs - recordedMs);
  return [...sites.values()];
}

/** What report time needs to know about a statement's text, computed once per fingerprint. */
export interface ShapeInfo {
  readonly shape: StatementShape;
  /** The first table, without schema (`comments`). */
  readonly table: string | undefined;
  readonly aggregate: 'count' | 'exists' | undefined;
  readonly limited: boolean;
  /** Sanitized text for findings. */
  readonly sql: string;
  /** Batched statements by slot token (built on first use). */
  readonly batched: Map<number, string | undefined>;
  /** N+1 suggestions by slot, parent and ORM (at most MAX_SUGGESTIONS_PER_SHAPE). */
  readonly suggestions: Map<string, string>;
}

/** Suggestions memoised per statement shape (one per slot × parent × ORM operation seen). */
const MAX_SUGGESTIONS_PER_SHAPE = 16;

/** ShapeInfo by fingerprint, shared by every scope of a detector; cleared when MAX_SHAPES is reached. */
export class ShapeCache {
  readonly #shapes = new Map<string, ShapeInfo>();

  get(group: Group): ShapeInfo {
    let info = this.#shapes.get(group.fingerprint);
    if (info === undefined) {
      const text = group.text;
      const first = group.sql.tables[0];
      info = {
        shape: statementShape(text),
        table: first === undefined ? undefined : bareTable(first),
        aggregate: aggregateOf(text),
        limited: /\blimit\b/i.test(text),
        sql: sqlText(group.sql, text),
        batched: new Map(),
        suggestions: new Map(),
      };
      if (this.#shapes.size >= MAX_SHAPES) this.#shapes.clear();
      this.#shapes.set(group.fingerprint, info);
    }
    return info;
  }
}

/** Per-group report-time data shared by its sites. */
class GroupView {
  readonly group: Group;
  readonly info: ShapeInfo;
  readonly #literals = new Map<Execution, string[]>();

  constructor(group: Group, info: ShapeInfo) {
    this.group = group;
    this.info = info;
  }

  get shape(): StatementShape {
    return this.info.shape;
  }

  batched(slot: Slot): string | undefined {
    const cache = this.info.batched;
    if (!cache.has(slot.token)) cache.set(slot.token, batchedStatement(this.group.text, slot));
    return cache.get(slot.token);
  }

  literalsOf(r: Execution): string[] {
    let lits = this.#literals.get(r);
    if (lits === undefined) {
      lits = r.sql.hasLiterals ? literalValues(r.text) : [];
      this.#literals.set(r, lits);
    }
    return lits;
  }

  /** The comparable value `r` passed through `slot`, if it can be a key. */
  slotKey(r: Execution, slot: Slot): ValueKey | undefined {
    if (slot.param > 0) return valueKey(r.values?.[slot.param - 1]);
    const lits = this.literalsOf(r);
    if (lits.length !== this.shape.literalCount) return undefined;
    return valueKey(lits[slot.literal]);
  }

  /** Some slot has a key in every execution of `site` (so a parent could have been recognised). */
  checkable(site: Site): boolean {
    return this.shape.slots.some((slot) => site.records.every((r) => this.slotKey(r, slot) !== undefined));
  }

  distinctKey(r: Execution): string {
    return r.sql.hasLiterals ? `${r.text}\u0002${paramSetKey(r.values)}` : paramSetKey(r.values);
  }
}

function distinctCount(view: GroupView, site: Site): number {
  const keys = new Set<unknown>();
  for (const r of site.records) {
    // The common case, one scalar `$1`, needs no key string.
    const v = r.values;
    const simple = !r.sql.hasLiterals && v !== undefined && v.length === 1 && (typeof v[0] === 'number' || typeof v[0] === 'string');
    keys.add(simple ? v[0] : `\u0003${view.distinctKey(r)}`);
  }
  const recorded = site.records.length;
  // Past the record caps, extrapolate from the recorded share.
  return recorded === 0 ? 0 : site.count > recorded ? Math.round((keys.size * site.count) / recorded) : keys.size;
}

/**
 * Some executions overlapped in time. Records are in completion order, so two overlap exactly when
 * some execution started before the one completed just before it ended.
 */
function overlapping(records: readonly Execution[]): boolean {
  for (let i = 1; i < records.length; i++) if (records[i]!.startTime < records[i - 1]!.endTime) return true;
  return false;
}

/**
 * The statement carries several keys: an array parameter (`= ANY($1)`), or a list that the loop
 * fills (`IN ($1, $2, $3)`, or inline lists that change between executions). A constant list
 * (`status IN ('a', 'b')`, a `VALUES` table) next to one key does not make a batch.
 */
function carriesSeveralKeys(r: Execution, first: Execution): boolean {
  if (keysCarried(r.values) > 1) return true;
  const lists = r.sql.listLengths;
  if (lists.length === 0 || !lists.some((l) => l > 1)) return false;
  return r.sql.maxParam > 1 || r.text !== first.text;
}

/** Every statement (all but at most one, the last chunk) already carries several keys. */
function alreadyBatched(records: readonly Execution[]): boolean {
  const first = records[0];
  if (first === undefined || records.length < 2) return false;
  let single = 0;
  for (const r of records) {
    if (carriesSeveralKeys(r, first)) continue;
    if (++single > 1) return false;
  }
  return true;
}

interface Link {
  readonly origin: Origin;
  readonly slot: Slot;
}

interface Tally {
  readonly origin: Origin;
  /** The last execution counted (an execution counts once, whichever generation answered). */
  last: number;
}

function eachOrigin(entry: OriginEntry | undefined, fn: (origin: Origin) => void): void {
  if (entry === undefined) return;
  if (Array.isArray(entry)) for (const o of entry) fn(o);
  else fn(entry);
}

interface Parentage {
  /** The parent, proven: every execution's value, from a plausible column. */
  readonly link: Link | undefined;
  /** Earlier queries whose rows held every execution's value, in whatever column. */
  readonly covering: ReadonlySet<Group>;
}

/** Step 3: the one earlier query whose rows hold every execution's value in one slot. */
function findParent(state: ScopeState, view: GroupView, site: Site): Parentage {
  const group = view.group;
  const records = site.records;
  const covering = new Set<Group>();
  if (records.length < 2) return { link: undefined, covering };
  let best: Link | undefined;
  let bestStrength = 0;
  const keys: ValueKey[] = [];
  for (const slot of view.shape.slots) {
    keys.length = 0;
    for (const r of records) {
      const k = view.slotKey(r, slot);
      if (k === undefined) break;
      keys.push(k);
    }
    if (keys.length !== records.length || new Set(keys).size < 2) continue;
    // Without a column to check against, only values that cannot match by chance are proof.
    if (slot.column === undefined && !keys.every(isDistinctiveKey)) continue;
    // Candidates are the (query, column) pairs that returned the first execution's value; each
    // later execution keeps those that returned its value too. Few candidates, kept in place.
    const candidates: Tally[] = [];
    const firstSeq = records[0]!.seq;
    const seed = (o: Origin): void => {
      if (o.group === group || o.seq >= firstSeq) return;
      for (const t of candidates) if (t.origin.group === o.group && t.origin.column === o.column) return;
      candidates.push({ origin: o, last: 0 });
    };
    eachOrigin(state.index.current(keys[0]!), seed);
    eachOrigin(state.index.previous(keys[0]!), seed);
    for (let i = 1; i < records.length && candidates.length > 0; i++) {
      const seq = records[i]!.seq;
      const mark = (o: Origin): void => {
        if (o.group === group || o.seq >= seq) return;
        for (const t of candidates) {
          if (t.last !== i && t.origin.group === o.group && t.origin.column === o.column) {
            t.last = i;
          }
        }
      };
      eachOrigin(state.index.current(keys[i]!), mark);
      eachOrigin(state.index.previous(keys[i]!), mark);
      // Keep the candidates that returned this execution's value too (in place).
      let kept = 0;
      for (const t of candidates) if (t.last === i) candidates[kept++] = t;
      candidates.length = kept;
    }
    for (const t of candidates) {
      covering.add(t.origin.group);
      const strength = slot.column === undefined ? 1 : linkStrength(slot.column, group.sql.tables, t.origin.column, t.origin.group.sql.tables);
      if (strength === 0) continue;
      // Of several full explanations, the latest parent is the closest one (the inner loop's);
      // of one parent's columns, the one that names the loop's table (`author_id` for `authors.id`).
      if (
        best === undefined ||
        t.origin.group.firstSeq > best.origin.group.firstSeq ||
        (t.origin.group === best.origin.group && strength > bestStrength)
      ) {
        best = { origin: t.origin, slot };
        bestStrength = strength;
      }
    }
  }
  return { link: best, covering };
}

/** Each execution's value came from the previous execution's last row: keyset pagination. */
function isKeysetPagination(view: GroupView, site: Site): boolean {
  const records = site.records;
  if (records.length < 2) return false;
  let links = 0;
  for (let i = 1; i < records.length; i++) {
    const r = records[i]!;
    if (r.afterPrevious) {
      links++;
      continue;
    }
    const prev = records[i - 1]!.lastRow;
    if (!r.sql.hasLiterals || prev === undefined || prev.length === 0) continue;
    for (const slot of view.shape.slots) {
      const k = view.slotKey(r, slot);
      if (k !== undefined && prev.includes(k)) {
        links++;
        break;
      }
    }
  }
  return links >= records.length - 1;
}

function sqlText(sql: SqlInfo, raw: string): string {
  const text = sql.hasLiterals ? sanitize(raw) : raw;
  return text.length > MAX_FINDING_SQL ? `${text.slice(0, MAX_FINDING_SQL)}…` : text;
}

function groupSql(group: Group): string {
  return sqlText(group.sql, group.text);
}


function scopeRef(scope: ScopeInfo): { id: string; name: string } {
  return { id: scope.id, name: scope.name };
}

function parentOf(group: Group, evidence: FindingParent['evidence']): FindingParent {
  return { fingerprint: group.fingerprint, summary: group.sql.summary, callsite: group.records[0]?.callsite?.resolve(), evidence };
}

function aggregateOf(text: string): 'count' | 'exists' | undefined {
  if (/^\s*select\s+exists\s*\(/i.test(text) || /^\s*select\s+not\s+exists\s*\(/i.test(text)) return 'exists';
  if (/^\s*select\s+count\s*\(/i.test(text)) return 'count';
  return undefined;
}

/** What a site contributed, for duplicates. */
interface Classified {
  readonly site: Site;
  readonly nPlusOne: boolean;
}

function allowed(config: DetectConfig, group: Group, callsite: Callsite | undefined): boolean {
  return config.allow({ text: group.text, fingerprint: group.fingerprint, callsite });
}

/**
 * Findings of one group not reported yet (marks them reported). `early`: the scope is still
 * running (reportAfterMs), so loops are reported only once they reached their threshold.
 */
export function evaluateGroup(state: ScopeState, group: Group, config: DetectConfig, shapes: ShapeCache, early = false): Finding[] {
  const out: Finding[] = [];
  if (!group.released && group.count >= 2 && group.records.length > 0) evaluateRepeats(state, group, config, shapes, out, early);
  evaluateLarge(state, group, config, out);
  return out;
}

function evaluateRepeats(state: ScopeState, group: Group, config: DetectConfig, shapes: ShapeCache, out: Finding[], early: boolean): void {
  const cls = group.sql.statementClass;
  const isRead = cls === 'read';
  const isWrite = cls === 'write' && WRITE_COMMANDS.has(group.sql.command);
  if (!isRead && !isWrite) return;
  const view = new GroupView(group, shapes.get(group));
  const sites = splitBySite(group);
  const classified: Classified[] = [];
  const scope = state.scope;
  for (const site of sites) {
    if (site.count < 2) {
      classified.push({ site, nPlusOne: false });
      continue;
    }
    if (isRead && config.nPlusOne !== false && !(early && site.count < config.nPlusOne)) {
      const finding = nPlusOne(state, view, site, config.nPlusOne, scope);
      if (finding !== undefined) {
        classified.push({ site, nPlusOne: true });
        const key = `n-plus-one\u0000${group.fingerprint}\u0000${site.key}`;
        if (!state.reported.has(key)) {
          state.reported.add(key);
          if (!allowed(config, group, site.callsite)) out.push(finding);
        }
        continue;
      }
    }
    classified.push({ site, nPlusOne: false });
    if (isWrite && config.batchableWrites !== false) {
      const threshold = config.batchableWrites;
      if (site.count >= threshold && !alreadyBatched(site.records)) {
        const distinct = distinctCount(view, site);
        const key = `batchable-writes\u0000${group.fingerprint}\u0000${site.key}`;
        if (distinct >= threshold && !state.reported.has(key)) {
          state.reported.add(key);
          if (!allowed(config, group, site.callsite)) out.push(batchableWrites(view, site, distinct, scope));
        }
      }
    }
  }
  if (isRead && config.duplicates !== false && !early) {
    const finding = duplicates(view, classified, config.duplicates, scope);
    const key = `duplicate\u0000${group.fingerprint}`;
    if (finding !== undefined && !state.reported.has(key)) {
      state.reported.add(key);
      if (!allowed(config, group, finding.callsite)) out.push(finding);
    }
  }
}

function nPlusOne(state: ScopeState, view: GroupView, site: Site, threshold: number, scope: ScopeInfo): NPlusOneFinding | undefined {
  if (alreadyBatched(site.records)) return undefined;
  const group = view.group;
  const distinct = distinctCount(view, site);
  if (distinct < 2) return undefined;
  const { link, covering } = findParent(state, view, site);
  let parent: FindingParent | undefined;
  let parentGroup: Group | undefined;
  let slot: Slot | undefined;
  if (link !== undefined) {
    parentGroup = link.origin.group;
    parent = parentOf(parentGroup, 'result-rows');
    slot = link.slot;
  } else {
    if (site.count < threshold || distinct < threshold) return undefined;
    if (isKeysetPagination(view, site)) return undefined;
    const adj = group.adjacent;
    // The read just before the loop, run once: the likely parent, unless its rows were sampled
    // and the loop's values are not among them (a loop over request input has no parent).
    const plausible = !adj?.sampled || adj.sampledPartly || covering.has(adj) || !view.checkable(site);
    if (adj !== undefined && adj !== group && group.adjacentCountThen === 1 && adj.sql.statementClass === 'read' && plausible) {
      parentGroup = adj;
      parent = parentOf(adj, 'adjacency');
    }
    slot = view.shape.slots.find((s) => s.column !== undefined && (s.form === '=' || s.form === 'in')) ?? view.shape.slots[0];
  }
  const concurrent = overlapping(site.records);
  const info = view.info;
  const op = group.operation;
  const batched = slot === undefined ? undefined : view.batched(slot);
  const param = slot === undefined ? '$1' : slot.param > 0 ? `$${slot.param}` : `$${Math.max(1, group.sql.maxParam + 1)}`;
  const suggestionKey = `${slot?.token ?? -1}\u0000${parent?.summary ?? ''}\u0000${link?.origin.column ?? ''}\u0000${op?.orm ?? ''}\u0000${op?.model ?? ''}\u0000${op?.relation ?? ''}`;
  let suggestion = info.suggestions.get(suggestionKey);
  if (suggestion === undefined) {
    suggestion = nPlusOneSuggestion({
      orm: op?.orm,
      model: op?.model,
      relation: op?.relation,
      table: info.table,
      column: slot?.column,
      batched,
      param,
      parentSummary: parent?.summary,
      parentTable: parentGroup?.sql.tables[0] === undefined ? undefined : bareTable(parentGroup.sql.tables[0]),
      parentColumn: link?.origin.column,
      aggregate: info.aggregate,
      limited: info.limited,
    });
    if (info.suggestions.size >= MAX_SUGGESTIONS_PER_SHAPE) info.suggestions.clear();
    info.suggestions.set(suggestionKey, suggestion);
  }
  const parentAt = parent?.callsite === undefined ? '' : ` (${where(parent.callsite)})`;
  const parentText = parent === undefined ? '' : `, ${parent.evidence === 'result-rows' ? 'once per row of' : 'after'} "${parent.summary}"${parentAt}`;
  const message = `N+1: "${group.sql.summary}" ran ${site.count} times with ${distinct} distinct parameter sets${at(site.callsite)}${parentText}${concurrent ? ', concurrently' : ''}`;
  return {
    kind: 'n-plus-one',
    message,
    suggestion,
    fingerprint: group.fingerprint,
    summary: group.sql.summary,
    sql: info.sql,
    count: site.count,
    distinctParams: distinct,
    totalMs: site.totalMs,
    callsite: site.callsite,
    orm: op?.orm,
    scope: scopeRef(scope),
    parent,
    concurrent,
  };
}

function batchableWrites(view: GroupView, site: Site, distinct: number, scope: ScopeInfo): BatchableWritesFinding {
  const group = view.group;
  const table = group.sql.writtenTables[0] ?? group.sql.tables[0];
  const concurrent = overlapping(site.records);
  return {
    kind: 'batchable-writes',
    message: `Write loop: "${group.sql.summary}" ran ${site.count} times with ${distinct} distinct parameter sets${at(site.callsite)}${concurrent ? ', concurrently' : ''}`,
    suggestion: batchableWritesSuggestion(group.sql.command, table === undefined ? undefined : bareTable(table), site.count, group.operation?.orm),
    fingerprint: group.fingerprint,
    summary: group.sql.summary,
    sql: view.info.sql,
    count: site.count,
    distinctParams: distinct,
    totalMs: site.totalMs,
    callsite: site.callsite,
    orm: group.operation?.orm,
    scope: scopeRef(scope),
    concurrent,
  };
}

function duplicates(view: GroupView, classified: readonly Classified[], threshold: number, scope: ScopeInfo): DuplicateFinding | undefined {
  const counts = new Map<string, { n: number; first: Execution; site: Site; ms: number }>();
  for (const { site, nPlusOne } of classified) {
    if (nPlusOne) continue;
    for (const r of site.records) {
      const key = view.distinctKey(r);
      const c = counts.get(key);
      if (c === undefined) counts.set(key, { n: 1, first: r, site, ms: r.endTime - r.startTime });
      else {
        c.n++;
        c.ms += r.endTime - r.startTime;
      }
    }
  }
  let count = 0;
  let sets = 0;
  let ms = 0;
  let first: { first: Execution; site: Site } | undefined;
  for (const c of counts.values()) {
    if (c.n < threshold) continue;
    count += c.n;
    sets++;
    ms += c.ms;
    if (first === undefined || c.first.seq < first.first.seq) first = c;
  }
  if (first === undefined) return undefined;
  const group = view.group;
  const callsite = first.site.callsite ?? first.first.callsite?.resolve();
  return {
    kind: 'duplicate',
    message: `Duplicate: "${group.sql.summary}" ran ${count} times with ${sets === 1 ? 'identical parameters' : `${sets} parameter sets each repeated`}${at(callsite, 'first at', ', ')}`,
    suggestion: duplicateSuggestion(),
    fingerprint: group.fingerprint,
    summary: group.sql.summary,
    sql: view.info.sql,
    count,
    distinctParams: sets,
    totalMs: ms,
    callsite,
    orm: group.operation?.orm,
    scope: scopeRef(scope),
  };
}

/** The group's large-result finding, once per scope. */
export function evaluateLarge(state: ScopeState, group: Group, config: DetectConfig, out: Finding[]): void {
  if (config.largeResult === false || group.largeCount === 0) return;
  const key = `large-result\u0000${group.fingerprint}`;
  if (state.reported.has(key)) return;
  state.reported.add(key);
  const callsite = group.largeCallsite?.resolve();
  if (allowed(config, group, callsite)) return;
  out.push(largeResult({ sql: group.sql, text: group.text, rows: group.largestRows, count: group.largeCount, totalMs: group.largeMs, orm: group.operation?.orm }, config.largeResult, callsite, state.scope));
}

export interface LargeResultFacts {
  readonly sql: SqlInfo;
  readonly text: string;
  /** The biggest result. */
  readonly rows: number;
  /** Executions over the limit. */
  readonly count: number;
  readonly totalMs: number;
  readonly orm: string | undefined;
}

export function largeResult(facts: LargeResultFacts, limit: number, callsite: Callsite | undefined, scope: ScopeInfo | undefined): LargeResultFinding {
  return {
    kind: 'large-result',
    message: `Large result: "${facts.sql.summary}" returned ${facts.rows} rows (limit ${limit})${facts.count > 1 ? `, ${facts.count} times` : ''}${at(callsite)}`,
    suggestion: largeResultSuggestion(facts.rows),
    fingerprint: facts.sql.fingerprint,
    summary: facts.sql.summary,
    sql: sqlText(facts.sql, facts.text),
    count: facts.count,
    distinctParams: 1,
    totalMs: facts.totalMs,
    callsite,
    orm: facts.orm,
    scope: scope === undefined ? undefined : scopeRef(scope),
    rows: facts.rows,
    thresholdRows: limit,
  };
}

/** The scope's statement budget, once. */
export function evaluateBudget(state: ScopeState, config: DetectConfig): QueryBudgetFinding | undefined {
  const budget = config.budget;
  if (budget === false || state.budgetReported || state.statements <= budget) return undefined;
  state.budgetReported = true;
  let top: Group | undefined;
  let totalMs = 0;
  for (const g of state.groups.values()) {
    totalMs += g.totalMs;
    if (top === undefined || g.count > top.count) top = g;
  }
  if (top === undefined) return undefined;
  const callsite = top.records[0]?.callsite?.resolve();
  if (allowed(config, top, callsite)) return undefined;
  return {
    kind: 'query-budget',
    message: `Query budget: scope "${state.scope.name}" issued ${state.statements} statements (budget ${budget}); most often "${top.sql.summary}" (${top.count}×)`,
    suggestion: budgetSuggestion(top.sql.summary, top.count),
    fingerprint: top.fingerprint,
    summary: top.sql.summary,
    sql: groupSql(top),
    count: state.statements,
    distinctParams: state.groups.size + state.droppedGroups,
    totalMs,
    callsite,
    orm: top.operation?.orm,
    scope: scopeRef(state.scope),
    statements: state.statements,
    budget,
  };
}

/** Everything the scope has not reported yet, at its end. */
export function evaluateScope(state: ScopeState, config: DetectConfig, shapes: ShapeCache): Finding[] {
  const out: Finding[] = [];
  for (const group of state.groups.values()) out.push(...evaluateGroup(state, group, config, shapes));
  const budget = evaluateBudget(state, config);
  if (budget !== undefined) out.push(budget);
  return out;
}
