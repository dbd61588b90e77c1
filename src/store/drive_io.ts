/**
 * The file operations a drive's {@linkcode SegmentStore} performs, as an
 * interface, so the drive conformance suite can run the store over a
 * fault-injecting drive (bit flips, torn writes, ENOSPC, a vanishing drive,
 * a failing fsync) as well as over the real one.
 *
 * The real implementation hands out Deno's own `Deno.FsFile` handles, so the
 * hot write and read paths are exactly what they were: no wrapper, no copy.
 * The chunk index (SQLite) opens its own files and is not covered.
 *
 * @module
 */

/** An open file on a drive: the part of `Deno.FsFile` the segment store uses. */
export interface DriveFile extends Disposable {
  /** Writes at the file position; returns how many bytes went in (may be fewer than asked). */
  write(bytes: Uint8Array): Promise<number>;
  /** Writes at the file position without yielding, where the drive can (the real one). */
  writeSync?(bytes: Uint8Array): number;
  /** Reads at the file position into `into`; null at the end of the file. */
  read(into: Uint8Array): Promise<number | null>;
  /** Moves the file position; returns the new one. */
  seek(offset: number, whence: Deno.SeekMode): Promise<number>;
  /** Moves the file position without yielding (lseek does no I/O), where the drive can. */
  seekSync?(offset: number, whence: Deno.SeekMode): number;
  /** fsync: data and metadata reach the disk. */
  sync(): Promise<void>;
  /** fdatasync: data (and the size) reach the disk. */
  syncData(): Promise<void>;
  /** Cuts the file to `length` bytes. */
  truncate(length?: number): Promise<void>;
  /** The file's size. */
  stat(): Promise<{ size: number }>;
  /** Closes the handle. */
  close(): void;
}

/** The file-system operations on one drive, by path. */
export interface DriveIO {
  /** Opens (or creates) a file. */
  open(path: string, options: Deno.OpenOptions): Promise<DriveFile>;
  /** Reads a whole file. */
  readFile(path: string): Promise<Uint8Array>;
  /** Cuts a file to `length` bytes. */
  truncate(path: string, length: number): Promise<void>;
  /** Removes a file. */
  remove(path: string): Promise<void>;
  /** Renames a file (atomically replacing the target). */
  rename(from: string, to: string): Promise<void>;
  /** Creates a directory and its parents. */
  mkdirSync(path: string): void;
  /** Names of the entries in a directory. */
  listSync(path: string): string[];
  /** A file's size. */
  sizeSync(path: string): number;
}

/** The real drive: Deno's file API, unchanged. */
export const realDrive: DriveIO = {
  open: (path, options) => Deno.open(path, options),
  readFile: (path) => Deno.readFile(path),
  truncate: (path, length) => Deno.truncate(path, length),
  remove: (path) => Deno.remove(path),
  rename: (from, to) => Deno.rename(from, to),
  mkdirSync: (path) => Deno.mkdirSync(path, { recursive: true }),
  listSync: (path) => [...Deno.readDirSync(path)].map((e) => e.name),
  sizeSync: (path) => Deno.statSync(path).size,
};

/**
 * fsyncs a file or directory on a drive; some platforms cannot sync a
 * directory, which then is as durable as they allow.
 *
 * @param io The drive.
 * @param path File or directory.
 */
export async function syncPath(io: DriveIO, path: string): Promise<void> {
  using f = await io.open(path, { read: true });
  await f.sync().catch(() => undefined);
}
