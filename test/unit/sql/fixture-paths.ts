import { fileURLToPath } from 'node:url';

/** ../shared beside the repository root: the fixtures every developer and CI have. */
export const sharedDir = fileURLToPath(new URL('../../../../shared/', import.meta.url));
export const sqlFixture = (name: string): string => `${sharedDir}fixtures/sql/${name}`;
export const agreementTool = `${sharedDir}tools/fingerprint-agreement.cjs`;

/** DML as the SQL toolkit issue defines it: statements starting (after comments and parentheses) with SELECT/INSERT/UPDATE/DELETE/WITH. */
export const DML_REGEX = String.raw`^(\s|--[^\n]*\n|/\*[\s\S]*?\*/)*(\(\s*)*(select|insert|update|delete|with)\b`;
