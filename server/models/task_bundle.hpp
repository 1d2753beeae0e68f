// The MediaPipe Tasks reader: a `.task` bundle is a zip whose entries MediaPipe reads in place, so each must be
// stored uncompressed (mediapipe/tasks/cc/metadata/utils/zip_utils.cc refuses any other method: "Expected
// uncompressed zip archive."), and each `.tflite` entry must be a TFLite FlatBuffer (the identifier "TFL3" at bytes
// 4..7, tensorflow/lite/schema/schema.fbs). The zip is read with libzip; of each entry only its first 8 bytes are
// read, so a bomb (an entry that inflates to terabytes) costs nothing but its own verdict. A bare `.tflite` gets the
// same identifier check.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace modelhost::models {

constexpr std::size_t max_task_entries = 4096;  // a real bundle holds 2 to 10

struct TaskEntry {
    std::string name;
    std::uint64_t bytes = 0;       // uncompressed, as the central directory declares
    std::uint64_t compressed = 0;
    bool tflite = false;           // named *.tflite
    std::string problem;           // "" when MediaPipe can read it
};

struct TaskBundle {
    std::string error;  // why it is not a readable bundle at all ("not a zip archive: ..."); "" when it is
    bool bare_tflite = false;  // not a zip, but a TFLite model itself (MediaPipe accepts one as modelAssetPath)
    std::vector<TaskEntry> entries;

    // Every entry's problem, "entry NAME: PROBLEM", after `error`.
    std::vector<std::string> problems() const;
};

// Why the first bytes of a would-be TFLite model are not one ("" when they are): too short, HTML, no "TFL3".
std::string tflite_problem(std::string_view head, std::uint64_t size);

TaskBundle read_task(std::string_view bytes);                  // the fuzz target's entry point
TaskBundle read_task_file(const std::filesystem::path& file);

// A bare .tflite file's problem ("" when its identifier is there).
std::string tflite_file_problem(const std::filesystem::path& file);

}  // namespace modelhost::models
