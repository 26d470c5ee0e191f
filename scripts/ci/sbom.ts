// ci:sbom — a CycloneDX SBOM of each image's production dependencies (npm sbom per workspace) in .tier/sbom/.
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { main } from './lib/github.js';

const exec = promisify(execFile);

/** Image name -> the workspace whose production closure the image carries (with @tier/runtime). */
export const SBOM_TARGETS: Record<string, string> = { 'tier-web': 'apps/web', 'tier-api': 'apps/api' };

await main(async () => {
  const outDir = join(process.cwd(), '.tier', 'sbom');
  await mkdir(outDir, { recursive: true });
  for (const [image, workspace] of Object.entries(SBOM_TARGETS)) {
    const { stdout } = await exec('npm', ['sbom', '--sbom-format', 'cyclonedx', '--omit', 'dev', '-w', workspace], {
      maxBuffer: 64 << 20,
    }).catch((err: { stderr?: string; message: string }) => {
      throw Object.assign(
        new Error(`npm sbom -w ${workspace} failed: ${(err.stderr ?? err.message).trim().split('\n')[0]}`),
        {
          hint: 'npm 10.1+ is needed (npm --version); run `npm ci` first',
        },
      );
    });
    const sbom = JSON.parse(stdout) as { bomFormat?: string; specVersion?: string; components?: unknown[] };
    if (sbom.bomFormat !== 'CycloneDX' || !Array.isArray(sbom.components) || sbom.components.length === 0) {
      throw new Error(`npm sbom -w ${workspace} produced no CycloneDX components`);
    }
    const file = join(outDir, `${image}.cdx.json`);
    await writeFile(file, `${JSON.stringify(sbom, null, 2)}\n`);
    console.log(`✔ ${image}: CycloneDX ${sbom.specVersion}, ${sbom.components.length} components -> ${file}`);
  }
  return 0;
});
