// The cluster state's transitions (a failover moves the roles once, never over a newer one;
// an operator returns a rebuilt member), its JSON form, and the state file's
// read-modify-write.

#include "hftguard/coord/cluster_state.hpp"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include "hftguard/coord/state_file.hpp"

using namespace hftguard;
using namespace hftguard::coord;

namespace {

config::ComponentConfig engine(std::vector<std::string> names) {
  config::ComponentConfig c;
  c.name = "engine";
  for (const auto& n : names) {
    config::MemberConfig m;
    m.name = n;
    m.values = {{"name", n}, {"host", "h-" + n}, {"api", "h-" + n + ":80"}};
    c.members.push_back(m);
  }
  c.primary = names[0];
  c.standby = names[1];
  return c;
}

TEST(ClusterState, AFailoverMovesTheRolesOnceAndFencesTheOldPrimary) {
  const auto c = engine({"a", "b", "c"});
  Roles r = initialRoles(c);
  EXPECT_EQ(r.primary, "a");
  EXPECT_EQ(r.standbys, (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(r.candidate(), "b");
  ASSERT_EQ(applyFailover(r, "a", "b", 0, {"a", "b", "t", "e1"}), "");
  EXPECT_EQ(r.primary, "b");
  EXPECT_EQ(r.standbys, (std::vector<std::string>{"c"}));
  EXPECT_EQ(r.fenced, (std::vector<std::string>{"a"}));
  EXPECT_EQ(r.epoch, 1u);
  // The same failover again, or one decided before it, changes nothing.
  const Roles after = r;
  EXPECT_NE(applyFailover(r, "a", "b", 0, {}), "");
  EXPECT_NE(applyFailover(r, "b", "a", 0, {}), "");  // stale epoch
  EXPECT_NE(applyFailover(r, "b", "a", 1, {}), "");  // a is fenced, not a standby
  EXPECT_EQ(r, after);
}

TEST(ClusterState, TheSecondFailoverGoesBackOnceTheOldPrimaryIsReady) {
  const auto c = engine({"a", "b"});
  Roles r = initialRoles(c);
  ASSERT_EQ(applyFailover(r, "a", "b", 0, {}), "");
  EXPECT_EQ(r.candidate(), "");  // nobody to promote while a is fenced
  EXPECT_EQ(r.watched(), "a");   // its rebuild is what standby checks watch
  EXPECT_NE(markReady(r, "b"), "");  // the primary
  EXPECT_NE(markReady(r, "zz"), "");
  ASSERT_EQ(markReady(r, "a"), "");
  EXPECT_EQ(r.candidate(), "a");
  ASSERT_EQ(applyFailover(r, "b", "a", 1, {}), "");
  EXPECT_EQ(r.primary, "a");
  EXPECT_EQ(r.fenced, (std::vector<std::string>{"b"}));
  EXPECT_EQ(r.epoch, 2u);
  EXPECT_NE(markFenced(r, "a"), "");  // never the primary
}

TEST(ClusterState, StoredRolesAreFittedToTheConfig) {
  auto c = engine({"a", "b", "c"});
  Roles stored;
  stored.primary = "b";
  stored.standbys = {"gone"};
  stored.fenced = {"a"};
  stored.epoch = 4;
  std::string why;
  std::vector<std::string> notes;
  auto r = fitRoles(c, stored, &why, &notes);
  ASSERT_TRUE(r) << why;
  EXPECT_EQ(r->primary, "b");
  EXPECT_EQ(r->standbys, (std::vector<std::string>{"c"}));
  EXPECT_EQ(r->fenced, (std::vector<std::string>{"a"}));
  EXPECT_EQ(r->epoch, 4u);
  EXPECT_EQ(notes.size(), 2u);  // gone dropped, c new
  stored.primary = "gone";
  EXPECT_FALSE(fitRoles(c, stored, &why));  // never a guess at who is primary
  EXPECT_NE(why.find("not a configured member"), std::string::npos) << why;
}

TEST(ClusterState, JsonRoundTripsAndRefusesOtherVersions) {
  ClusterState s;
  Roles r = initialRoles(engine({"a", "b"}));
  ASSERT_EQ(applyFailover(r, "a", "b", 0, {"a", "b", "2026-11-27T00:00:00.000Z", "ev"}), "");
  s.components["engine"] = r;
  std::string why;
  auto back = stateFromJson(toJson(s), &why);
  ASSERT_TRUE(back) << why;
  EXPECT_EQ(*back, s);
  auto j = toJson(s);
  j["version"] = 2;
  EXPECT_FALSE(stateFromJson(j, &why));
  EXPECT_FALSE(stateFromJson(nlohmann::json{{"version", 1}, {"components", {{"e", 3}}}}, &why));
}

TEST(StateFile, ChangesAreReadModifyWriteAndARefusalWritesNothing) {
  const std::string dir = ::testing::TempDir() + "state-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  const StateFile file(dir + "/cluster_state.json");
  std::string why;
  auto empty = file.read(&why);
  ASSERT_TRUE(empty) << why;  // no file: an empty state
  EXPECT_TRUE(empty->components.empty());
  const auto c = engine({"a", "b"});
  ASSERT_EQ(file.update([&](ClusterState& s) {
    s.components["engine"] = initialRoles(c);
    return std::string();
  }),
            "");
  EXPECT_EQ(file.update([](ClusterState& s) {
    s.components.clear();
    return std::string("no");
  }),
            "no");
  auto read = file.read(&why);
  ASSERT_TRUE(read) << why;
  EXPECT_EQ(read->components.at("engine").primary, "a");
  struct stat st {};
  ASSERT_EQ(::stat(file.path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);  // private
  std::ofstream(file.path()) << "{not json";
  EXPECT_FALSE(file.read(&why));
  EXPECT_NE(why.find("not JSON"), std::string::npos);
  EXPECT_NE(file.update([](ClusterState&) { return std::string(); }), "");  // nothing guessed
  std::filesystem::remove_all(dir);
}

}  // namespace
