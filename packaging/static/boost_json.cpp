// Boost.JSON's compiled part, built into the packaged binary (CAIRN_PACKAGE)
// instead of linking libboost_json.so: Debian ships no static archive of it.
#include <boost/json/src.hpp>
