/**
 * Plan summaries from EXPLAIN (FORMAT JSON) output: the top node, sequential scans on large tables
 * with their (sanitized) filter, the columns the filter reads and the index hint.
 */
import { describe, expect, it } from 'vitest';
import { filterColumns, planHint, planRoot, seqScansOf, summarizePlan } from '../../../src/report/plan-summary.js';

const seqScanPlan = [
  {
    Plan: {
      'Node Type': 'Limit',
      'Total Cost': 1050.5,
      'Plan Rows': 10,
      Plans: [
        {
          'Node Type': 'Seq Scan',
          'Relation Name': 'comments',
          Schema: 'public',
          Alias: 'c',
          'Total Cost': 1050.5,
          'Plan Rows': 20,
          Filter: "((c.post_id = 42) AND ((c.author)::text = 'Ann O''Nym'::text))",
        },
        { 'Node Type': 'Seq Scan', 'Relation Name': 'tiny', Schema: 'public', Filter: '(flag IS TRUE)' },
        { 'Node Type': 'Seq Scan', 'Relation Name': 'events', Schema: 'audit' },
      ],
    },
  },
];

describe('plan summaries', () => {
  it('finds the root of EXPLAIN JSON output, parsed or as text', () => {
    expect(planRoot(seqScanPlan)?.['Node Type']).toBe('Limit');
    expect(planRoot(JSON.stringify(seqScanPlan))?.['Node Type']).toBe('Limit');
    expect(planRoot('not json')).toBeUndefined();
    expect(planRoot([{}])).toBeUndefined();
  });

  it('lists sequential scans in plan order, with schema and filter', () => {
    expect(seqScansOf(planRoot(seqScanPlan)!).map((s) => [s.schema, s.relation, s.filter !== undefined])).toEqual([
      ['public', 'comments', true],
      ['public', 'tiny', true],
      ['audit', 'events', false],
    ]);
  });

  it('keeps scans of large tables only, shows their filter sanitized, and gives the index hint', () => {
    const summary = summarizePlan(planRoot(seqScanPlan)!, new Map([['comments', 50_000], ['tiny', 12], ['audit.events', 2_000_000]]));
    expect(summary).toEqual({
      node: 'Limit',
      totalCost: 1050.5,
      estimatedRows: 10,
      seqScans: [
        { table: 'comments', filter: '((c.post_id = ?) AND ((c.author)::text = ?::text))', columns: ['post_id', 'author'], tableRows: 50_000 },
        { table: 'audit.events', columns: [], tableRows: 2_000_000 },
      ],
      hint: 'sequential scan on comments filtered by post_id, author — consider an index on comments(post_id, author)',
    });
    expect(JSON.stringify(summary)).not.toContain('Ann');
    expect(JSON.stringify(summary)).not.toContain('42');
  });

  it('gives no hint when no large table is scanned with a filter', () => {
    const summary = summarizePlan(planRoot(seqScanPlan)!, new Map([['tiny', 100_000]]));
    expect(summary.hint).toBe('sequential scan on tiny filtered by flag — consider an index on tiny(flag)');
    expect(summarizePlan(planRoot(seqScanPlan)!, new Map()).hint).toBeUndefined();
    expect(planHint([])).toBeUndefined();
  });

  it('points at an expression index when the filter wraps the column in a function', () => {
    const lowered = { table: 'comments', filter: "(lower(comments.commenter_email) = ?::text)", columns: ['commenter_email'], tableRows: 200_000 };
    expect(planHint([lowered])).toBe('sequential scan on comments filtered by lower(commenter_email) — consider an expression index on comments ((lower(commenter_email)))');
    // a cast is not a function: the plain column index still serves `(c.status)::text = …`
    const cast = { table: 'orders', filter: "((orders.status)::text = ?::text)", columns: ['status'], tableRows: 50_000 };
    expect(planHint([cast])).toBe('sequential scan on orders filtered by status — consider an index on orders(status)');
  });

  it('names a scan node with its relation and reports ANALYZE measurements', () => {
    const summary = summarizePlan({ 'Node Type': 'Seq Scan', 'Relation Name': 'posts', 'Total Cost': 3, 'Plan Rows': 1, 'Actual Total Time': 1.25, 'Actual Rows': 4 }, new Map());
    expect(summary).toMatchObject({ node: 'Seq Scan on posts', actualTimeMs: 1.25, actualRows: 4 });
  });

  it('reads the columns of a filter, skipping literals, parameters, casts, functions and keywords', () => {
    expect(filterColumns('(post_id = $1)')).toEqual(['post_id']);
    expect(filterColumns('(comments.post_id = 42)')).toEqual(['post_id']);
    expect(filterColumns("((status)::text = ANY ('{a,b}'::text[]))")).toEqual(['status']);
    expect(filterColumns("((created_at > (now() - '1 day'::interval)) AND (deleted_at IS NULL))")).toEqual(['created_at', 'deleted_at']);
    expect(filterColumns("(lower((email)::text) = 'x'::character varying)")).toEqual(['email']);
    expect(filterColumns("((\"Weird Col\" = 1) OR (NOT archived))")).toEqual(['Weird Col', 'archived']);
    expect(filterColumns("((t.ts)::timestamp with time zone < now()) AND (kind = 'a')")).toEqual(['ts', 'kind']);
    expect(filterColumns('(hashed SubPlan 1)')).toEqual([]);
  });
});
