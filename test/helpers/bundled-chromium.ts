import { createReadStream, createWriteStream, existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createBrotliDecompress } from 'node:zlib';
import { extract } from 'tar-fs';

/** The headless Chromium of the npm package @sparticuz/chromium, unpacked and ready to launch. */
export interface BundledChromium {
  /** What it is, for messages: package, version and where it was unpacked. */
  readonly description: string;
  readonly executablePath: string;
  /** The environment the browser needs on top of the test's own (its libraries, maybe its fonts). */
  readonly env: Record<string, string>;
}

const PACKAGE = '@sparticuz/chromium';
/** Written last into the staging directory, so the target exists only with it. */
const COMPLETE = '.complete';

/**
 * Unpacks the Chromium that @sparticuz/chromium ships inside its npm tarball (a brotli-compressed
 * chrome-headless-shell for Linux x64) into node_modules/.cache, once per package version.
 *
 * The package's own executablePath() unpacks into the shared temp directory and takes any file
 * there named `chromium` for a finished one; this unpacks into a staging directory and renames it
 * into place, so an interrupted or concurrent unpack is never launched half-written.
 *
 * The browser links against NSS, NSPR and expat, which a fresh Debian or Ubuntu has no copy of
 * (they come with a browser package); the package ships them (al2023.tar.br) and the returned
 * env puts them first on LD_LIBRARY_PATH, so the browser never depends on the system's copies.
 * It ships a font as well, used when the system has no fontconfig set-up at all.
 */
export async function unpackBundledChromium(): Promise<BundledChromium> {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`${PACKAGE} ships a Chromium for Linux x64 only, and this is ${process.platform} ${process.arch}`);
  }
  let entry: string;
  try {
    entry = createRequire(import.meta.url).resolve(PACKAGE);
  } catch (error) {
    throw new Error(`${PACKAGE} is not installed (${(error as Error).message.split('\n')[0]}): run npm install`);
  }
  // <node_modules>/@sparticuz/chromium/build/index.js
  const packageDir = dirname(dirname(entry));
  const version = (JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { version: string }).version;
  const target = join(dirname(dirname(packageDir)), '.cache', 'shardline', `chromium-${version}`);
  const description = `${PACKAGE} ${version} (unpacked in ${target})`;

  if (!existsSync(join(target, COMPLETE))) {
    await mkdir(dirname(target), { recursive: true });
    const staging = await mkdtemp(`${target}.staging-`);
    try {
      const bin = join(packageDir, 'bin');
      await Promise.all([
        pipeline(createReadStream(join(bin, 'chromium.br')), createBrotliDecompress(), createWriteStream(join(staging, 'chromium'), { mode: 0o755 })),
        pipeline(createReadStream(join(bin, 'al2023.tar.br')), createBrotliDecompress(), extract(join(staging, 'al2023'))),
        pipeline(createReadStream(join(bin, 'fonts.tar.br')), createBrotliDecompress(), extract(join(staging, 'fonts'))),
      ]);
      // The package's fonts.conf names serverless paths (/tmp/fonts, /opt/fonts); this one names ours.
      await writeFile(
        join(staging, 'fonts', 'fonts.conf'),
        `<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n  <dir>${join(target, 'fonts', 'fonts')}</dir>\n  <cachedir>${join(target, 'fonts', 'cache')}</cachedir>\n</fontconfig>\n`,
      );
      await writeFile(join(staging, COMPLETE), `${PACKAGE} ${version}\n`);
      await chmod(staging, 0o755);
      await rename(staging, target);
    } catch (error) {
      await rm(staging, { recursive: true, force: true });
      // Another process finished the same unpack first: use its copy.
      if (!existsSync(join(target, COMPLETE))) throw new Error(`unpacking ${PACKAGE} ${version} into ${target} failed: ${(error as Error).message}`, { cause: error });
    }
  }

  const libDir = join(target, 'al2023', 'lib');
  const env: Record<string, string> = {
    LD_LIBRARY_PATH: [libDir, ...(process.env['LD_LIBRARY_PATH'] ?? '').split(':').filter(Boolean)].join(':'),
  };
  if (!existsSync('/etc/fonts/fonts.conf') && !process.env['FONTCONFIG_FILE']) env['FONTCONFIG_FILE'] = join(target, 'fonts', 'fonts.conf');
  return { description, executablePath: join(target, 'chromium'), env };
}
