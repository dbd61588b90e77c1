/**
 * A fault-injecting {@linkcode DriveIO} for the drive conformance suite: it
 * passes every operation to a real drive until a test scripts a fault —
 * flipped bits in what is read or written, a write torn after some bytes (the
 * call fails, or the process "crashes" and nothing more reaches the drive),
 * no space left after some bytes, the drive vanishing, an fsync that fails
 * after the data went to the page cache.
 *
 * Errors look like Deno's own (`"No space left on device (os error 28)"`),
 * so the store's errno detection (`isNoRoom` in errors.ts) sees a real one.
 *
 * @module
 */

import { type DriveFile, type DriveIO, realDrive } from "./drive_io.ts";

/** What happens at the byte where a write budget ({@linkcode FaultyDrive.failAfter}) runs out. */
export type WriteFault =
  /** The write stores its prefix, then fails with EIO. */
  | "tear"
  /** The write stores its prefix, then the process is gone: every later operation fails, nothing is cleaned up. */
  | "crash"
  /** The write stores its prefix; later writes fail with ENOSPC until truncation or removal frees room. */
  | "full"
  /** The write stores its prefix, then the drive is gone: every later operation fails as on a pulled disk. */
  | "vanish";

/** Deno's message for EIO. */
const EIO = "Input/output error (os error 5)";
/** Deno's message for ENOSPC (what `isNoRoom` looks for). */
const ENOSPC = "No space left on device (os error 28)";

/**
 * A drive that fails on command.
 *
 * @example Usage
 * ```ts
 * import { FaultyDrive } from "./faulty_drive.ts";
 * const drive = new FaultyDrive();
 * drive.failSyncs = 1; // the next syncData fails after its write went to the page cache
 * drive.failAfter(4096, "full"); // ENOSPC once 4 KiB more are written
 * drive.heal(); // every fault off again
 * ```
 */
export class FaultyDrive implements DriveIO {
  readonly #inner: DriveIO;
  /** Reads to damage from now on: each flips one bit in the middle of what it returns. */
  flipReads = 0;
  /** Writes to damage from now on: each stores its bytes with one bit flipped in the middle. */
  flipWrites = 0;
  /** syncData calls to fail from now on (with EIO, after the write reached the page cache). */
  failSyncs = 0;
  /** syncData calls seen (group commit shares them). */
  syncDataCalls = 0;
  /** Writes seen. */
  writeCalls = 0;
  #budget: { bytes: number; fault: WriteFault } | undefined;
  /** Bytes left when the disk is full; undefined while there is room. */
  #room: number | undefined;
  #gone: "vanished" | "crashed" | undefined;

  /**
   * Wraps a drive.
   *
   * @param inner The drive faults are injected into.
   * @default {realDrive}
   */
  constructor(inner: DriveIO = realDrive) {
    this.#inner = inner;
  }

  /**
   * Arms a write fault: the write that crosses `bytes` more written bytes
   * stores only the bytes up to it, then `fault` happens.
   *
   * @param bytes Bytes that still go in whole.
   * @param fault What happens then.
   */
  failAfter(bytes: number, fault: WriteFault): void {
    this.#budget = { bytes, fault };
  }

  /** Reads waiting at the gate, when one is held (see {@linkcode FaultyDrive.holdReads}). */
  #heldReads: (() => void)[] | undefined;

  /**
   * Holds every read through a file handle until the returned function is
   * called: a slow disk, so a test can order what happens meanwhile.
   *
   * @returns Releases the held reads; `waiting()` on it counts them.
   */
  holdReads(): { release: () => void; waiting: () => number } {
    const held: (() => void)[] = [];
    this.#heldReads = held;
    return {
      release: () => {
        if (this.#heldReads === held) this.#heldReads = undefined;
        for (const go of held.splice(0)) go();
      },
      waiting: () => held.length,
    };
  }

  /** Makes the drive vanish now: every operation fails as on a pulled disk. */
  vanish(): void {
    this.#gone = "vanished";
  }

  /** Whether the drive vanished or "crashed". */
  get gone(): boolean {
    return this.#gone !== undefined;
  }

  /** Turns every fault off: the drive is back, with room, and reads and writes are exact. */
  heal(): void {
    this.flipReads = 0;
    this.flipWrites = 0;
    this.failSyncs = 0;
    this.#budget = undefined;
    this.#room = undefined;
    this.#gone = undefined;
  }

  /** Throws when the drive is gone; `byPath`: a path operation (NotFound), else a handle's (EIO). */
  #check(byPath: boolean): void {
    if (this.#gone === "crashed") throw new Error("Cannot reach the drive: the process crashed");
    if (this.#gone === "vanished") {
      throw byPath ? new Deno.errors.NotFound(`No such file or directory (os error 2)`) : ioError();
    }
  }

  /** Writes through a fault: returns the bytes stored, or throws. */
  async write(inner: DriveFile, bytes: Uint8Array): Promise<number> {
    this.#check(false);
    this.writeCalls++;
    if (this.#room === 0) throw new Error(ENOSPC);
    let take = bytes.length;
    if (this.#room !== undefined) take = Math.min(take, this.#room);
    const budget = this.#budget;
    const cut = budget !== undefined && budget.bytes < take;
    if (cut) take = budget.bytes;
    let data = bytes.subarray(0, take);
    if (this.flipWrites > 0 && take > 0) {
      this.flipWrites--;
      data = data.slice();
      data[data.length >> 1] ^= 1;
    }
    // A short write is the caller's to continue, as with write(2).
    const stored = take > 0 ? await inner.write(data) : 0;
    if (this.#room !== undefined) this.#room -= stored;
    if (budget && !cut) budget.bytes -= stored;
    if (!cut) return stored;
    this.#budget = undefined;
    switch (budget!.fault) {
      case "full":
        this.#room = 0;
        if (stored > 0) return stored; // a short write, as write(2) reports one
        throw new Error(ENOSPC);
      case "tear":
        throw ioError();
      case "crash":
        this.#gone = "crashed";
        break;
      case "vanish":
        this.#gone = "vanished";
    }
    this.#check(false);
    return stored;
  }

  /** Reads through a fault. */
  async read(inner: DriveFile, into: Uint8Array): Promise<number | null> {
    this.#check(false);
    const held = this.#heldReads;
    if (held) await new Promise<void>((go) => held.push(go));
    const n = await inner.read(into);
    if (n && this.flipReads > 0) {
      this.flipReads--;
      into[n >> 1] ^= 1;
    }
    return n;
  }

  /** syncData through a fault. */
  async syncData(inner: DriveFile): Promise<void> {
    this.#check(false);
    this.syncDataCalls++;
    if (this.failSyncs > 0) {
      this.failSyncs--;
      throw ioError();
    }
    await inner.syncData();
  }

  /** Gives back room freed by shrinking or removing a file. */
  #free(bytes: number): void {
    if (this.#room !== undefined && bytes > 0) this.#room += bytes;
  }

  /** Truncates an open file, giving back the room it frees. */
  async truncateFile(inner: DriveFile, length: number): Promise<void> {
    this.#check(false);
    const before = this.#room === undefined ? length : (await inner.stat()).size;
    await inner.truncate(length);
    this.#free(before - length);
  }

  /** Checks a handle operation. */
  checkHandle(): void {
    this.#check(false);
  }

  /** Opens a file whose operations pass through this drive's faults. */
  async open(path: string, options: Deno.OpenOptions): Promise<DriveFile> {
    this.#check(true);
    return new FaultyFile(this, await this.#inner.open(path, options));
  }

  /** Reads a whole file, through the read faults. */
  async readFile(path: string): Promise<Uint8Array> {
    this.#check(true);
    const bytes = await this.#inner.readFile(path);
    if (this.flipReads > 0 && bytes.length > 0) {
      this.flipReads--;
      bytes[bytes.length >> 1] ^= 1;
    }
    return bytes;
  }

  /** Truncates a file by path, giving back the room it frees. */
  async truncate(path: string, length: number): Promise<void> {
    this.#check(true);
    const before = this.#inner.sizeSync(path);
    await this.#inner.truncate(path, length);
    this.#free(before - length);
  }

  /** Removes a file, giving back its room. */
  async remove(path: string): Promise<void> {
    this.#check(true);
    const before = this.#inner.sizeSync(path);
    await this.#inner.remove(path);
    this.#free(before);
  }

  /** Renames a file. */
  async rename(from: string, to: string): Promise<void> {
    this.#check(true);
    await this.#inner.rename(from, to);
  }

  /** Creates a directory. */
  mkdirSync(path: string): void {
    this.#check(true);
    this.#inner.mkdirSync(path);
  }

  /** Lists a directory. */
  listSync(path: string): string[] {
    this.#check(true);
    return this.#inner.listSync(path);
  }

  /** A file's size. */
  sizeSync(path: string): number {
    this.#check(true);
    return this.#inner.sizeSync(path);
  }
}

/** An open file on a {@linkcode FaultyDrive}. */
class FaultyFile implements DriveFile {
  readonly #drive: FaultyDrive;
  readonly #inner: DriveFile;

  constructor(drive: FaultyDrive, inner: DriveFile) {
    this.#drive = drive;
    this.#inner = inner;
  }

  write(bytes: Uint8Array): Promise<number> {
    return this.#drive.write(this.#inner, bytes);
  }

  read(into: Uint8Array): Promise<number | null> {
    return this.#drive.read(this.#inner, into);
  }

  seek(offset: number, whence: Deno.SeekMode): Promise<number> {
    this.#drive.checkHandle();
    return this.#inner.seek(offset, whence);
  }

  sync(): Promise<void> {
    this.#drive.checkHandle();
    return this.#inner.sync();
  }

  syncData(): Promise<void> {
    return this.#drive.syncData(this.#inner);
  }

  truncate(length = 0): Promise<void> {
    return this.#drive.truncateFile(this.#inner, length);
  }

  stat(): Promise<{ size: number }> {
    this.#drive.checkHandle();
    return this.#inner.stat();
  }

  /** Always closes the real handle, even on a failed drive, so tests leak nothing. */
  close(): void {
    this.#inner.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

function ioError(): Error {
  return new Error(EIO);
}
