// The XML bodies riptide sends (CompleteMultipartUpload, DeleteObjects); xml.cc reads
// the servers' answers.
#include <string>
#include <string_view>
#include <vector>

#include "transport/s3/xml.h"

namespace riptide::s3 {

namespace {

// Text for an XML element: the five special characters escaped, and CR as a character
// reference so it survives the parser's line-end normalisation.
void AppendEscaped(std::string& out, std::string_view text) {
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      case '\r': out += "&#13;"; break;
      default: out += c;
    }
  }
}

// <name>text</name>, the text escaped.
void AppendElement(std::string& out, const char* name, std::string_view text) {
  ((out += '<') += name) += '>';
  AppendEscaped(out, text);
  ((out += "</") += name) += '>';
}

}  // namespace

std::string CompleteMultipartUploadXml(const std::vector<std::string>& etags,
                                      const std::vector<std::string>* crc64nvme) {
  std::string out = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
  for (size_t i = 0; i < etags.size(); ++i) {
    out += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>\"";
    AppendEscaped(out, etags[i]);
    out += "\"</ETag>";
    if (crc64nvme && i < crc64nvme->size()) AppendElement(out, "ChecksumCRC64NVME", (*crc64nvme)[i]);
    out += "</Part>";
  }
  out += "</CompleteMultipartUpload>";
  return out;
}

std::string DeleteObjectsXml(const std::vector<std::string>& keys) {
  std::string out = "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>";
  for (const auto& key : keys) {
    out += "<Object>";
    AppendElement(out, "Key", key);
    out += "</Object>";
  }
  out += "</Delete>";
  return out;
}

}  // namespace riptide::s3
