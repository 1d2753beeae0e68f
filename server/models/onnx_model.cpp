// Field numbers are onnx/onnx.proto's (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto,
// SparseTensorProto, StringStringEntryProto, OperatorSetIdProto); the wire format is protobuf's (varint, 64-bit,
// length-delimited, 32-bit; groups are refused, ONNX has none).
#include "models/onnx_model.hpp"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <climits>
#include <limits>

namespace modelhost::models {

namespace {

namespace pbio = google::protobuf::io;

constexpr int wire_varint = 0, wire_fixed64 = 1, wire_bytes = 2, wire_fixed32 = 5;

// The bytes one element of an ONNX data_type takes; 0 for STRING and unknown types. 4-bit types are counted as
// halves by the caller.
std::uint64_t element_bytes(std::int64_t type) {
    switch (type) {
    case 2: case 3: case 9: case 17: case 18: case 19: case 20: return 1;  // (u)int8, bool, float8 variants
    case 4: case 5: case 10: case 16: return 2;                            // (u)int16, float16, bfloat16
    case 1: case 6: case 12: return 4;                                     // float, int32, uint32
    case 7: case 11: case 13: case 14: return 8;                           // int64, double, uint64, complex64
    case 15: return 16;                                                    // complex128
    default: return 0;
    }
}

bool four_bit(std::int64_t type) { return type == 21 || type == 22 || type == 23; }  // uint4, int4, float4e2m1

std::optional<std::uint64_t> implied_bytes(const std::vector<std::int64_t>& dims, std::int64_t type) {
    std::uint64_t n = 1;
    for (std::int64_t d : dims) {
        if (d < 0) return std::nullopt;
        auto u = static_cast<std::uint64_t>(d);
        if (u != 0 && n > std::numeric_limits<std::uint64_t>::max() / u) return std::nullopt;
        n *= u;
    }
    if (four_bit(type)) return n / 2 + n % 2;
    const std::uint64_t size = element_bytes(type);
    if (size == 0 || n > std::numeric_limits<std::uint64_t>::max() / size) return std::nullopt;
    return n * size;
}

// A decimal byte count as external_data writes it ("0", "4096"); nothing for anything else ("-1", "0x10", "").
std::optional<std::uint64_t> byte_count(const std::string& text) {
    std::uint64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) return std::nullopt;
    return v;
}

// Why an external-data location may not be read beside the model ("" when it may): onnxruntime refuses absolute
// paths and paths that leave the model's folder, and a browser loader fetches it as a relative URL.
std::string unsafe_location(std::string_view loc) {
    if (loc.empty()) return "has no location";
    if (loc.front() == '/' || loc.find('\\') != std::string_view::npos || loc.find(':') != std::string_view::npos)
        return "location is not a relative path";
    for (unsigned char c : loc)
        if (c < 0x20 || c == 0x7f) return "location holds a control character";
    std::size_t start = 0;
    while (start <= loc.size()) {
        std::size_t end = std::min(loc.find('/', start), loc.size());
        std::string_view seg = loc.substr(start, end - start);
        if (seg.empty() || seg == "." || seg == "..") return "location leaves the model's folder or has an empty segment";
        if (seg.front() == '.') return "location names a hidden file";
        start = end + 1;
    }
    return {};
}

// The reader over one CodedInputStream: each message parser reads fields until its limit, keeps what the header
// says it keeps, and skips the rest; the first error stops everything.
class Reader {
public:
    Reader(pbio::CodedInputStream& in, std::uint64_t size, OnnxModel& out) : in_(in), size_(size), out_(out) {}

    void model();

private:
    std::uint64_t pos() const { return static_cast<std::uint64_t>(in_.CurrentPosition()); }
    bool fail(std::string why) {
        if (out_.error.empty()) out_.error = std::move(why);
        return false;
    }
    bool cut(const char* inside) {
        return fail("cut short at byte " + std::to_string(pos()) + " inside " + inside + " (the file holds " +
                    std::to_string(size_) + " bytes: an interrupted copy, or a host that truncated it?)");
    }

    // The next field's tag; false at the message's end (or on an error, then recorded).
    bool next(std::uint32_t& tag, const char* message) {
        tag = in_.ReadTag();
        if (tag != 0) {
            const int type = static_cast<int>(tag & 7);
            if (type == 3 || type == 4 || type > 5 || (tag >> 3) == 0)
                return fail("not an ONNX model: byte " + std::to_string(pos()) + " holds wire type " + std::to_string(type) +
                            " in " + message + (pos() <= 1 && type == 4 ? " (the file starts with '<': an HTML page?)" : ""));
            return true;
        }
        if (!in_.ConsumedEntireMessage() && out_.error.empty()) cut(message);
        return false;
    }
    bool varint(std::uint64_t& v, const char* message) { return in_.ReadVarint64(&v) || cut(message); }
    // A length prefix that fits in what is left of the file.
    bool length(std::uint32_t& len, const char* message) {
        if (!in_.ReadVarint32(&len)) return cut(message);
        const int left = in_.BytesUntilLimit();
        if (left >= 0 && len > static_cast<std::uint32_t>(left)) {
            return fail("cut short: a field of " + std::string(message) + " at byte " + std::to_string(pos()) + " declares " +
                        std::to_string(len) + " bytes, " + std::to_string(left) + " remain (a copy cut short, or a hostile length)");
        }
        return true;
    }
    bool skip(std::uint32_t tag, const char* message) {
        std::uint64_t v = 0;
        std::uint32_t len = 0;
        switch (tag & 7) {
        case wire_varint: return varint(v, message);
        case wire_fixed64: return in_.Skip(8) || cut(message);
        case wire_fixed32: return in_.Skip(4) || cut(message);
        default: return length(len, message) && (in_.Skip(static_cast<int>(len)) || cut(message));
        }
    }
    bool string(std::uint32_t tag, std::string& s, const char* message) {
        std::uint32_t len = 0;
        if ((tag & 7) != wire_bytes) return skip(tag, message);
        if (!length(len, message)) return false;
        if (len > max_onnx_name_bytes) {
            s = "(a name of " + std::to_string(len) + " bytes)";
            return in_.Skip(static_cast<int>(len)) || cut(message);
        }
        return in_.ReadString(&s, static_cast<int>(len)) || cut(message);
    }
    // Runs `body` over a length-delimited submessage.
    template <class F>
    bool sub(std::uint32_t tag, const char* message, F&& body) {
        std::uint32_t len = 0;
        if ((tag & 7) != wire_bytes) return skip(tag, message);
        if (!length(len, message)) return false;
        auto limit = in_.PushLimit(static_cast<int>(len));
        body();
        in_.PopLimit(limit);
        return out_.error.empty();
    }

    void opset_import();
    void graph(std::size_t depth);
    void node(std::size_t depth);
    void attribute(std::size_t depth);
    void sparse_tensor();
    void tensor();
    void dims(std::uint32_t tag, std::vector<std::int64_t>& out);
    void entry(std::string& key, std::string& value);

    pbio::CodedInputStream& in_;
    const std::uint64_t size_;
    OnnxModel& out_;
    bool has_graph_ = false, has_opset_ = false;
};

void Reader::model() {
    std::uint32_t tag = 0;
    std::string producer, version;
    std::uint64_t v = 0;
    while (next(tag, "the model")) {
        const std::uint32_t field = tag >> 3;
        bool go = true;
        if (field == 1 && (tag & 7) == wire_varint) go = varint(v, "the model"), out_.ir_version = static_cast<std::int64_t>(v);
        else if (field == 2) go = string(tag, producer, "the model");
        else if (field == 3) go = string(tag, version, "the model");
        else if (field == 7) go = sub(tag, "the graph", [&] { has_graph_ = true, graph(0); });
        else if (field == 8) go = sub(tag, "an opset_import", [&] { opset_import(); });
        else go = skip(tag, "the model");
        if (!go) return;
    }
    if (!out_.error.empty()) return;
    out_.producer = producer + (version.empty() ? "" : " " + version);
    if (!has_graph_) fail("no graph: not an ONNX model, or a copy cut short before its graph");
    else if (!has_opset_ && out_.ir_version >= 3) fail("no opset_import after the graph: a copy cut short?");
}

void Reader::opset_import() {
    std::uint32_t tag = 0;
    std::string domain;
    std::uint64_t version = 0;
    while (next(tag, "an opset_import")) {
        bool go = (tag >> 3) == 1 ? string(tag, domain, "an opset_import")
                  : (tag >> 3) == 2 && (tag & 7) == wire_varint ? varint(version, "an opset_import")
                                                               : skip(tag, "an opset_import");
        if (!go) return;
    }
    has_opset_ = true;
    if (domain.empty() || domain == "ai.onnx") out_.opset = static_cast<std::int64_t>(version);
}

void Reader::graph(std::size_t depth) {
    if (depth > max_onnx_graph_depth) {
        fail("graphs nest more than " + std::to_string(max_onnx_graph_depth) + " deep at byte " + std::to_string(pos()));
        return;
    }
    std::uint32_t tag = 0;
    while (next(tag, "a graph")) {
        const std::uint32_t field = tag >> 3;
        bool go = field == 1    ? sub(tag, "a node", [&] { node(depth); })
                  : field == 5  ? sub(tag, "an initializer", [&] { ++out_.initializers, tensor(); })
                  : field == 15 ? sub(tag, "a sparse initializer", [&] { ++out_.initializers, sparse_tensor(); })
                                : skip(tag, "a graph");
        if (!go) return;
    }
}

void Reader::node(std::size_t depth) {
    std::uint32_t tag = 0;
    while (next(tag, "a node")) {
        if (!((tag >> 3) == 5 ? sub(tag, "an attribute", [&] { attribute(depth); }) : skip(tag, "a node"))) return;
    }
}

// A Constant's tensor, and the bodies of If, Loop and Scan: each may hold external data too.
void Reader::attribute(std::size_t depth) {
    std::uint32_t tag = 0;
    while (next(tag, "an attribute")) {
        const std::uint32_t field = tag >> 3;
        bool go = field == 5 || field == 10    ? sub(tag, "an attribute's tensor", [&] { tensor(); })
                  : field == 6 || field == 11  ? sub(tag, "a subgraph", [&] { graph(depth + 1); })
                  : field == 22 || field == 23 ? sub(tag, "a sparse tensor", [&] { sparse_tensor(); })
                                               : skip(tag, "an attribute");
        if (!go) return;
    }
}

void Reader::sparse_tensor() {
    std::uint32_t tag = 0;
    while (next(tag, "a sparse tensor")) {
        const std::uint32_t field = tag >> 3;
        if (!(field == 1 || field == 2 ? sub(tag, "a sparse tensor's part", [&] { tensor(); }) : skip(tag, "a sparse tensor")))
            return;
    }
}

// Repeated int64, packed (proto3's default) or one per field.
void Reader::dims(std::uint32_t tag, std::vector<std::int64_t>& out) {
    std::uint64_t v = 0;
    if ((tag & 7) == wire_varint) {
        if (varint(v, "a tensor's dims")) out.push_back(static_cast<std::int64_t>(v));
        return;
    }
    sub(tag, "a tensor's dims", [&] {
        while (in_.BytesUntilLimit() > 0 && varint(v, "a tensor's dims") && out.size() <= 64) out.push_back(static_cast<std::int64_t>(v));
    });
}

void Reader::entry(std::string& key, std::string& value) {
    std::uint32_t tag = 0;
    while (next(tag, "an external_data entry")) {
        const std::uint32_t field = tag >> 3;
        bool go = field == 1 ? string(tag, key, "an external_data entry")
                  : field == 2 ? string(tag, value, "an external_data entry")
                               : skip(tag, "an external_data entry");
        if (!go) return;
    }
}

void Reader::tensor() {
    std::uint32_t tag = 0;
    std::uint64_t type = 0, where = 0;
    std::vector<std::int64_t> shape;
    OnnxExternalTensor t;
    t.tensor = "?";
    std::string offset = "0", length;
    bool has_length = false;
    while (next(tag, "a tensor")) {
        const std::uint32_t field = tag >> 3;
        bool go = true;
        if (field == 1) dims(tag, shape), go = out_.error.empty();
        else if (field == 2 && (tag & 7) == wire_varint) go = varint(type, "a tensor");
        else if (field == 8) go = string(tag, t.tensor, "a tensor");
        else if (field == 14 && (tag & 7) == wire_varint) go = varint(where, "a tensor");
        else if (field == 13) {
            std::string key, value;
            go = sub(tag, "an external_data entry", [&] { entry(key, value); });
            if (key == "location") t.location = value;
            else if (key == "offset") offset = value;
            else if (key == "length") length = value, has_length = true;
        } else go = skip(tag, "a tensor");
        if (!go) return;
    }
    if (where != 1 || !out_.error.empty()) return;  // stored inside the file (DEFAULT)
    if (out_.external.size() == max_onnx_external_tensors) {
        fail("more than " + std::to_string(max_onnx_external_tensors) + " tensors stored as external data");
        return;
    }
    t.implied = implied_bytes(shape, static_cast<std::int64_t>(type));
    auto off = byte_count(offset);
    auto len = has_length ? byte_count(length) : std::optional<std::uint64_t>{};
    t.offset = off.value_or(0);
    t.length = len;
    if (t.problem = unsafe_location(t.location); !t.problem.empty()) {
        if (!t.location.empty()) t.problem += " (\"" + t.location.substr(0, 80) + "\")";
    } else if (!off) t.problem = "offset \"" + offset.substr(0, 40) + "\" is not a byte count";
    else if (has_length && !len) t.problem = "length \"" + length.substr(0, 40) + "\" is not a byte count";
    else if (len && t.implied && *len != *t.implied)
        t.problem = "length " + length + " but its dims and type need " + std::to_string(*t.implied) + " bytes";
    else if (!t.bytes()) t.problem = "no length, and its dims and type do not give one";
    out_.external.push_back(std::move(t));
}

OnnxModel read_from(pbio::ZeroCopyInputStream& stream, std::uint64_t size) {
    OnnxModel out;
    out.file_bytes = size;
    if (size > static_cast<std::uint64_t>(INT_MAX)) {
        out.error = "over 2 GiB: a protobuf cannot hold it (store the weights as external data)";
        return out;
    }
    pbio::CodedInputStream in(&stream);
    in.SetTotalBytesLimit(INT_MAX);
    auto limit = in.PushLimit(static_cast<int>(size));
    Reader(in, size, out).model();
    in.PopLimit(limit);
    if (out.ok() && out.external.empty() && size == 0) out.error = "the file is empty";
    return out;
}

// A file as a protobuf input whose Skip seeks instead of reading.
class FileInput final : public pbio::CopyingInputStream {
public:
    FileInput(int fd, std::uint64_t size) : fd_(fd), size_(size) {}
    int Read(void* buffer, int size) override {
        ssize_t n = ::read(fd_, buffer, static_cast<std::size_t>(size));
        if (n > 0) at_ += static_cast<std::uint64_t>(n);
        return n < 0 ? -1 : static_cast<int>(n);
    }
    int Skip(int count) override {
        const std::uint64_t n = std::min<std::uint64_t>(static_cast<std::uint64_t>(count), size_ - std::min(size_, at_));
        if (::lseek(fd_, static_cast<off_t>(n), SEEK_CUR) < 0) return 0;
        at_ += n;
        return static_cast<int>(n);
    }

private:
    int fd_;
    std::uint64_t size_, at_ = 0;
};

}  // namespace

OnnxModel read_onnx(std::string_view bytes) {
    pbio::ArrayInputStream stream(bytes.data(), static_cast<int>(std::min<std::size_t>(bytes.size(), INT_MAX)));
    return read_from(stream, bytes.size());
}

OnnxModel read_onnx_file(const std::filesystem::path& file) {
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st {};
    if (fd < 0 || ::fstat(fd, &st) != 0) {
        if (fd >= 0) ::close(fd);
        OnnxModel out;
        out.error = "cannot be read";
        return out;
    }
    FileInput input(fd, static_cast<std::uint64_t>(st.st_size));
    OnnxModel out;
    {
        pbio::CopyingInputStreamAdaptor stream(&input, 1 << 16);
        out = read_from(stream, static_cast<std::uint64_t>(st.st_size));
    }
    ::close(fd);
    return out;
}

}  // namespace modelhost::models
