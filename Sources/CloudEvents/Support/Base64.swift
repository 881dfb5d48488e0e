/// RFC 4648 Base64 with the standard alphabet and padding: the canonical form of the
/// Binary type and of JSON `data_base64`.
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    private static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
        return table
    }()

    static func encodeToString(_ bytes: [UInt8]) -> String {
        var output = [UInt8]()
        encode(bytes, appendingTo: &output)
        return String(decoding: output, as: UTF8.self)
    }

    static func encodedCount(_ count: Int) -> Int { (count + 2) / 3 * 4 }

    static func encode(_ bytes: [UInt8], appendingTo output: inout [UInt8]) {
        let start = output.count
        let outputCount = encodedCount(bytes.count)
        output.append(contentsOf: repeatElement(0, count: outputCount))
        output.withUnsafeMutableBufferPointer { out in
            bytes.withUnsafeBufferPointer { input in
                alphabet.withUnsafeBufferPointer { table in
                    var o = start
                    var i = 0
                    while i + 3 <= input.count {
                        let value = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8 | UInt32(input[i + 2])
                        out[o] = table[Int(value >> 18 & 0x3F)]
                        out[o + 1] = table[Int(value >> 12 & 0x3F)]
                        out[o + 2] = table[Int(value >> 6 & 0x3F)]
                        out[o + 3] = table[Int(value & 0x3F)]
                        i += 3
                        o += 4
                    }
                    let rest = input.count - i
                    if rest > 0 {
                        let value = UInt32(input[i]) << 16 | (rest == 2 ? UInt32(input[i + 1]) << 8 : 0)
                        out[o] = table[Int(value >> 18 & 0x3F)]
                        out[o + 1] = table[Int(value >> 12 & 0x3F)]
                        out[o + 2] = rest == 2 ? table[Int(value >> 6 & 0x3F)] : UInt8(ascii: "=")
                        out[o + 3] = UInt8(ascii: "=")
                    }
                }
            }
        }
    }

    /// Writes the Base64 of `bytes` (exactly ``encodedCount(_:)`` bytes).
    static func encode(_ bytes: [UInt8], to writer: inout UnsafeByteWriter) {
        bytes.withUnsafeBufferPointer { input in
            var i = 0
            while i + 3 <= input.count {
                let value = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8 | UInt32(input[i + 2])
                writer.write(alphabetByte(value >> 18))
                writer.write(alphabetByte(value >> 12))
                writer.write(alphabetByte(value >> 6))
                writer.write(alphabetByte(value))
                i += 3
            }
            let rest = input.count - i
            if rest > 0 {
                let value = UInt32(input[i]) << 16 | (rest == 2 ? UInt32(input[i + 1]) << 8 : 0)
                writer.write(alphabetByte(value >> 18))
                writer.write(alphabetByte(value >> 12))
                writer.write(rest == 2 ? alphabetByte(value >> 6) : UInt8(ascii: "="))
                writer.write(UInt8(ascii: "="))
            }
        }
    }

    /// The Base64 alphabet, computed rather than looked up (no table, no bounds check).
    @inline(__always)
    private static func alphabetByte(_ value: UInt32) -> UInt8 {
        let sextet = UInt8(truncatingIfNeeded: value & 0x3F)
        switch sextet {
        case 0..<26: return 0x41 + sextet
        case 26..<52: return 0x61 + sextet - 26
        case 52..<62: return 0x30 + sextet - 52
        case 62: return UInt8(ascii: "+")
        default: return UInt8(ascii: "/")
        }
    }

    static func decode(_ text: String) -> [UInt8]? {
        var text = text
        return text.withUTF8 { decode(UnsafeRawBufferPointer($0)) }
    }

    /// Strict decoding: standard alphabet, length a multiple of four, padding only at the end,
    /// and zero bits where padding leaves bits over (so one text means one byte sequence).
    static func decode(_ input: UnsafeRawBufferPointer) -> [UInt8]? {
        guard input.count % 4 == 0 else { return nil }
        guard !input.isEmpty else { return [] }
        var padding = 0
        if input[input.count - 1] == UInt8(ascii: "=") { padding += 1 }
        if input[input.count - 2] == UInt8(ascii: "=") { padding += 1 }
        let outputCount = input.count / 4 * 3 - padding
        var output = [UInt8](repeating: 0, count: outputCount)
        let valid = output.withUnsafeMutableBufferPointer { out in
            decodeTable.withUnsafeBufferPointer { table -> Bool in
                var o = 0
                var i = 0
                let fullQuads = (input.count / 4) - (padding > 0 ? 1 : 0)
                for _ in 0..<fullQuads {
                    let a = table[Int(input[i])]
                    let b = table[Int(input[i + 1])]
                    let c = table[Int(input[i + 2])]
                    let d = table[Int(input[i + 3])]
                    if (a | b | c | d) & 0xC0 != 0 { return false }
                    let value = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
                    out[o] = UInt8(truncatingIfNeeded: value >> 16)
                    out[o + 1] = UInt8(truncatingIfNeeded: value >> 8)
                    out[o + 2] = UInt8(truncatingIfNeeded: value)
                    i += 4
                    o += 3
                }
                guard padding > 0 else { return true }
                let a = table[Int(input[i])]
                let b = table[Int(input[i + 1])]
                if (a | b) & 0xC0 != 0 { return false }
                if padding == 2 {
                    guard b & 0x0F == 0 else { return false }
                    out[o] = a << 2 | b >> 4
                } else {
                    let c = table[Int(input[i + 2])]
                    guard c & 0xC0 == 0, c & 0x03 == 0 else { return false }
                    out[o] = a << 2 | b >> 4
                    out[o + 1] = b << 4 | c >> 2
                }
                return true
            }
        }
        return valid ? output : nil
    }
}
