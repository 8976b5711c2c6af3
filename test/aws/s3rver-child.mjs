// Runs s3rver in its own process: its ListObjectsV2 continuation tokens use DES, which Node ≥ 17 only
// offers with --openssl-legacy-provider, a flag that must be set when a process starts.
// Prints {"port": N} once listening; exits when its parent closes stdin.
import S3rver from 's3rver';

const [directory, ...buckets] = process.argv.slice(2);
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory,
  configureBuckets: buckets.map((name) => ({ name })),
  allowMismatchedSignatures: true,
});
const { port } = await server.run();
process.stdout.write(`${JSON.stringify({ port })}\n`);
process.stdin.resume();
process.stdin.on('end', () => server.close().finally(() => process.exit(0)));
