// Loaded with --split: makes any Node client write each command in two
// pieces, with Nagle on, the way the story's client did. Text commands are
// cut after their first 4 bytes; binary ones between the 24-byte header and
// the body. Without --split it does nothing.
if (process.argv.includes("--split")) {
  const net = require("node:net");
  const write = net.Socket.prototype.write;
  net.Socket.prototype.setNoDelay = function () {
    return this; // keep Nagle on
  };
  net.Socket.prototype.write = function (data, ...rest) {
    const buf = typeof data === "string" ? Buffer.from(data) : data;
    const cut = Buffer.isBuffer(buf) && buf[0] === 0x80 ? 24 : 4;
    if (!Buffer.isBuffer(buf) || buf.length <= cut) return write.call(this, data, ...rest);
    write.call(this, buf.subarray(0, cut));
    return write.call(this, buf.subarray(cut), ...rest);
  };
}
