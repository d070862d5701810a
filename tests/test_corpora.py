"""File-name parsers, label space and gender tables (serjax.corpora.naming)."""

import pytest

from serjax.corpora import naming


def test_ravdess_parse_and_gender():
    info = naming.parse("ravdess", "03-01-05-02-01-02-11.wav")
    assert (info.actor, info.gender, info.emotion, info.intensity, info.statement) == (
        "ravdess/11", naming.MALE, "angry", "strong", "01")
    assert info.label == naming.LABELS.index("angry") == 4
    assert naming.parse("ravdess", "Actor_12/03-01-08-01-01-01-12.wav").gender == naming.FEMALE


@pytest.mark.parametrize("name", ["03-02-05-01-01-01-01.wav",   # song channel
                                  "01-01-05-01-01-01-01.wav",   # audio-video modality
                                  "03-01-09-01-01-01-01.wav",   # no emotion 09
                                  "03-01-05-01-01-01-25.wav",   # no actor 25
                                  "notes.wav"])
def test_ravdess_rejects_other_names(name):
    with pytest.raises(naming.UnknownFileName, match="rename it or move it"):
        naming.parse("ravdess", name)


def test_crema_d_sex_table_counts():
    table = naming.crema_d_sex_table()
    assert len(table) == 91
    assert sum(v == naming.MALE for v in table.values()) == 48
    assert sum(v == naming.FEMALE for v in table.values()) == 43
    assert table[1001] == naming.MALE and table[1002] == naming.FEMALE


def test_crema_d_parse():
    info = naming.parse("crema_d", "1002_IEO_HAP_HI.wav")
    assert (info.actor, info.gender, info.emotion, info.intensity, info.statement) == (
        "crema_d/1002", naming.FEMALE, "happy", "high", "IEO")
    with pytest.raises(naming.UnknownFileName):
        naming.parse("crema_d", "1092_IEO_HAP_HI.wav")  # no actor 1092
    with pytest.raises(naming.UnknownFileName):
        naming.parse("crema_d", "1001_XYZ_HAP_HI.wav")


def test_crema_d_user_table_overrides(tmp_path):
    csv_path = tmp_path / "VideoDemographics.csv"
    csv_path.write_text('"ActorID","Age","Sex","Race","Ethnicity"\n1001,51,"Female","x","y"\n')
    table = naming.read_crema_d_demographics(csv_path)
    assert naming.parse_crema_d("1001_DFA_ANG_XX.wav", table).gender == naming.FEMALE
    bad = tmp_path / "bad.csv"
    bad.write_text("ActorID,Sex\n1001,unknown\n")
    with pytest.raises(ValueError, match="VideoDemographics"):
        naming.read_crema_d_demographics(bad)


def test_savee_and_tess_parse():
    assert naming.parse("savee", "JK_sa15.wav").emotion == "sad"
    assert naming.parse("savee", "DC_su01.wav").emotion == "surprise"
    assert naming.parse("savee", "KL_n30.wav").gender == naming.MALE
    tess = naming.parse("tess", "YAF_pleasant_surprised/YAF_chair_ps.wav")
    assert (tess.actor, tess.gender, tess.emotion, tess.statement) == (
        "tess/YAF", naming.FEMALE, "surprise", "chair")
    assert naming.parse("tess", "OAF_back_Fear.wav").emotion == "fear"
    for corpus, name in [("savee", "XX_a01.wav"), ("tess", "OAF_back_bored.wav")]:
        with pytest.raises(naming.UnknownFileName):
            naming.parse(corpus, name)


def test_superset_actor_counts():
    actors = [a for c in naming.CORPORA for a in naming.all_actors(c)]
    genders = [naming.actor_gender(a) for a in actors]
    assert len(actors) == len(set(actors)) == 121
    assert genders.count(naming.FEMALE) == 57 and genders.count(naming.MALE) == 64


def test_unknown_corpus():
    with pytest.raises(ValueError, match="unknown corpus"):
        naming.parse("iemocap", "x.wav")
