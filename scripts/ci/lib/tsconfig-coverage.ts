// Which TypeScript files no project of the build graph includes: the files `tsc -b` never type-checks.
import { relative, resolve } from 'node:path';
import ts from 'typescript';

const TYPESCRIPT = /\.[cm]?tsx?$/;

/** Every tsconfig `tsc -b` reaches from `rootConfig` through `references`, with the files each includes. */
export function projectsOf(rootConfig: string): Map<string, readonly string[]> {
  const projects = new Map<string, readonly string[]>();
  const visit = (configPath: string): void => {
    if (projects.has(configPath)) return;
    const host = {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d: ts.Diagnostic) => {
        throw new Error(`${configPath}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
      },
    };
    const parsed = ts.getParsedCommandLineOfConfigFile(configPath, {}, host);
    if (!parsed) throw new Error(`${configPath}: cannot be read as a tsconfig`);
    projects.set(
      configPath,
      parsed.fileNames.map((f) => resolve(f)),
    );
    for (const ref of parsed.projectReferences ?? []) visit(ts.resolveProjectReferencePath(ref));
  };
  visit(resolve(rootConfig));
  return projects;
}

/** The TypeScript files among `files` (paths relative to `root`) that no project reached from root/tsconfig.json includes. */
export function uncoveredFiles(root: string, files: readonly string[]): string[] {
  const included = new Set([...projectsOf(resolve(root, 'tsconfig.json')).values()].flat());
  return files
    .filter((f) => TYPESCRIPT.test(f) && !included.has(resolve(root, f)))
    .map((f) => relative(root, resolve(root, f)))
    .sort();
}
