"""Offline emotion and stance labels for short Chinese and English posts.

Stance of English text comes from a classifier trained on human labels (``stance_classifier``:
RumourEval support / deny / query / comment, mapped to +1 / -1 / 0 / 0). No labelled data or
recognised lexicon is pinned for the rest, so Chinese stance and all emotion intensity still use
word lists of our own curation: the most frequent Weibo emoticons and reaction words in the CED
repost comments (simplified and traditional spellings), common rumour-debunking vocabulary
(谣言, 辟谣, 假的), and everyday English sentiment words. Recognised resources were checked and
left out: ``cntext`` 2.2.1 ships DUTIR (seven emotion categories, without the ontology's
intensities), HowNet, NTUSD and Chinese EmoBank as YAML, but requires numpy < 2 and pandas < 3,
so it cannot be pinned beside this project, and its lexicons cannot be extracted into this
repository either: Chinese EmoBank (Lee, Li and Yu 2022; valence and arousal per word, the natural
basis for intensity) and DUTIR (Xu et al. 2008) are offered for download or academic use with no
grant to redistribute, HowNet's word set states no licence, and NTUSD (MIT) gives polarity only
and marks 34% of the comments our lists call calm (it matches 不是, 知道, 注意). VADER
(``vaderSentiment`` 3.3.2, MIT) scores valence, not arousal: its compound rates "So sad :(" (-0.76) about as strongly as "What the fuck
is this?!!! Disgusting" (-0.83), so it does not separate moderate from intense emotion.

The word-list labellers scan all texts in one regular-expression pass over the joined corpus,
so 100k texts take about a second.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np

from . import stance_classifier

# --- emotion intensity -------------------------------------------------------------------

# Strong (high-arousal) words: anger, disgust, shock, horror, swearing. Weight 2.
_STRONG_ZH = (
    "愤怒 气死 气炸 恶心 畜生 畜牲 禽兽 人渣 败类 混蛋 王八蛋 去死 该死 枪毙 千刀万剐 天打雷劈 "
    "不得好死 丧心病狂 令人发指 无耻 可耻 卑鄙 滚蛋 他妈 他媽 妈的 媽的 尼玛 你妈 操蛋 我靠 卧槽 "
    "草泥马 震惊 崩溃 吓死 惨无人道 太可怕 好可怕 悲愤 痛心疾首 痛恨 怒了 怒不可遏 发指 严惩 "
    "撕心裂肺 泪崩 哭死 心碎 绝望 愤慨 可恨 恨死 毛骨悚然 丧尽天良 没人性 沒人性 死刑 "
    "傻逼 傻b 傻叉 煞笔 脑残 腦殘 麻痹 贱人 賤人 狗日 艹"
)
_STRONG_EN = (
    "outrageous outraged furious fury disgusting disgusted disgrace disgraceful horrific "
    "horrifying horrible terrifying appalling appalled shocking shocked heartbreaking "
    "heartbroken devastated devastating hate hateful fuck fucking fucked wtf omg shit "
    "bullshit damn damned evil monster monsters sick sickening rage enraged unbelievable "
    "insane murderers murderer scum sb"
)
# Moderate words: sadness, worry, pity, joy, surprise, mild anger, laughter. Weight 1.
_WEAK_ZH = (
    "可怜 可憐 难过 難過 伤心 傷心 生气 生氣 担心 擔心 害怕 可怕 开心 開心 高兴 高興 感动 感動 "
    "哈哈 呵呵 嘿嘿 可恶 可惡 心疼 悲剧 悲劇 唉 哎 天啊 天哪 我的天 吓人 嚇人 惨 慘 痛心 悲哀 "
    "悲伤 悲傷 难受 難受 郁闷 鬱悶 无语 無語 汗 晕 暈 囧 怒 泪 淚 哭 惊 驚 吃惊 感慨 感叹 "
    "遗憾 遺憾 揪心 不忍 恐怖 愤 气愤 氣憤 讨厌 討厭 烦 煩 幸福 激动 激動 期待 喜欢 喜歡 "
    "感谢 感謝 祝福 祈祷 祈禱 保佑 安息 一路走好 走好 加油 支持 太好了 好样的 好樣的 赞 讚 "
    "牛逼 牛b 给力 給力 威武 厉害 厲害 可爱 可愛 美哭 萌 感人 温暖 溫暖 致敬 默哀 惋惜 痛 "
    "坑爹 奇葩 荒唐 荒谬 荒謬 离谱 離譜 过分 過分 坑 骂 罵 丢人 丟人 丢脸 丟臉 寒心 心寒"
)
_WEAK_EN = (
    "sad sadly sorry upset angry mad worried worry afraid scared scary fear happy glad "
    "love loved lovely amazing awesome great wonderful beautiful terrible awful bad "
    "tragic tragedy poor crazy ridiculous shame shameful lol lmao haha hahaha wow "
    "unreal pray praying rip condolences thanks thank proud brave hope hoping wish "
    "cry crying tears annoying annoyed stupid idiot idiots fail pathetic nasty ugly"
)
# Intensifiers only raise a score that some emotion signal already started.
_INTENS_ZH = "太 非常 真是 简直 簡直 特别 特別 极其 極其 超级 超級 实在 實在 好好 十分 相当 相當 竟然 居然 真的"
_INTENS_EN = "so very really extremely totally absolutely completely utterly truly such too"
# Weibo emoticons: high-arousal ones count 2, the rest 1.
_EMO_STRONG = "怒 怒骂 抓狂 愤怒 吐 鄙视 泪流满面 惊恐 崩溃 哭 大哭"
_EMO_ANY = (
    "哈哈 泪 淚 蜡烛 蠟燭 吃惊 吃驚 偷笑 汗 爱你 愛你 嘻嘻 衰 心 good 鼓掌 挖鼻屎 围观 圍觀 花心 威武 "
    "给力 給力 晕 暈 思考 哼 生病 可怜 可憐 酷 弱 吐 赞 讚 呵呵 馋嘴 太开心 笑哈哈 疑问 爱心传递 "
    "黑线 可爱 悲伤 悲傷 浮云 亲亲 耶 伤心 傷心 失望 委屈 囧 神马 祈祷 得意地笑 阴险 抱抱 做鬼脸 "
    "右哼哼 左哼哼 嘘 偷乐 泪流满面 打哈气 猪头 害羞 闭嘴 懒得理你 困 可怜 色 怒 抓狂 鄙视 怒骂 惊恐"
)
_EMOJI_STRONG = "😡🤬😭😱💔🖕"
_EMOJI_ANY = "😂🤣😢😥😪😞😔😩😫😤😠😨😰😳😮😍🥰❤💕👍👏🙏😊😃😄😁😆😅🙄😒"

# --- stance / attitude ---------------------------------------------------------------

# Positive: support, approval, praise, belief, blessing.
_POS_ZH = (
    "支持 加油 太好了 好样的 好樣的 赞 讚 点赞 點贊 顶 頂 赞同 贊同 同意 认同 認同 说得好 說得好 "
    "说的好 說的好 好人 感谢 感謝 谢谢 謝謝 感动 感動 感人 致敬 敬佩 佩服 威武 给力 給力 厉害 厲害 "
    "牛逼 棒 优秀 優秀 美好 温暖 溫暖 正能量 祝福 保佑 平安 祈祷 祈禱 希望 相信 真相了 属实 屬實 "
    "真的是 证实 證實 可爱 可愛 喜欢 喜歡 爱 愛 开心 開心 高兴 高興 幸福 欣慰 值得 好消息 "
    "应该的 應該的 必须的 必須的 赞一个 好评 好評 英雄 伟大 偉大 了不起 机智 機智 好主意 靠谱 靠譜 "
    "转起来 轉起來 扩散 擴散 帮转 幫轉 好棒 不错 不錯 漂亮 真美 哈哈 嘻嘻"
)
_POS_EN = (
    "support supports supported supporting agree agreed agreeing true confirmed confirms "
    "confirm correct good great excellent awesome amazing wonderful beautiful "
    "love loved thanks thank grateful proud brave hero heroes respect well done "
    "congrats congratulations hope pray praying bless blessed glad happy best yes "
    "legit accurate indeed exactly"
)
# Negative: condemnation, doubt, rumour-calling, sadness, fear.
_NEG_ZH = (
    "气死 气炸 氣死 谣言 謠言 造谣 造謠 辟谣 闢謠 假的 假消息 假新闻 假新聞 虚假 虛假 不实 不實 骗人 騙人 骗子 騙子 "
    "忽悠 胡说 胡說 扯淡 扯蛋 瞎扯 炒作 标题党 標題黨 真的吗 真的嗎 真的假的 真假 求证 求證 求真相 "
    "靠谱吗 靠譜嗎 是真的吗 怀疑 懷疑 不信 质疑 質疑 无耻 無恥 可耻 可恥 卑鄙 恶心 噁心 畜生 禽兽 "
    "禽獸 人渣 败类 敗類 混蛋 王八蛋 去死 该死 該死 枪毙 槍斃 严惩 嚴懲 愤怒 憤怒 气愤 氣憤 可恶 可惡 "
    "可恨 痛恨 讨厌 討厭 垃圾 无语 無語 悲剧 悲劇 悲哀 可怜 可憐 心疼 难过 難過 伤心 傷心 惨 慘 "
    "可怕 恐怖 害怕 担心 擔心 失望 寒心 心寒 丢人 丟人 丢脸 丟臉 坑爹 荒唐 荒谬 荒謬 离谱 離譜 过分 "
    "過分 黑幕 腐败 腐敗 贪官 貪官 无能 無能 不作为 不作為 抗议 抗議 反对 反對 谴责 譴責 滚蛋 滾蛋 滚出 滾出 "
    "他妈 他媽 妈的 媽的 尼玛 卧槽 我靠 操蛋 操你 呵呵 唉 默哀 安息 一路走好 蜡烛 蠟燭 "
    "傻逼 傻b 傻叉 煞笔 脑残 腦殘 麻痹 贱人 賤人 狗日 意淫 胡扯 瞎说 瞎說 无知 無知"
)
_NEG_EN = (
    "fake hoax hoaxes rumor rumors rumour rumours false lie lies lying liar liars debunked "
    "debunk misleading misinformation disinformation propaganda bogus unconfirmed unverified "
    "doubt doubtful skeptical sceptical wrong nonsense bullshit bs wtf fuck fucking shit "
    "disgusting disgrace shame shameful outrageous outraged terrible awful horrible evil "
    "hate sad tragic tragedy angry furious sick pathetic stupid ridiculous corrupt "
    "condemn condemned murder murdered killed protest against exaggeration exaggerated worst "
    "failure dumb sb irrelevant misreported incorrect inaccurate untrue speculation speculating unbelievable"
)
# Phrases that doubt or deny a claim outright; weight 2 (e.g. "is this true?").
_DOUBT_EN = (
    "is this true",
    "is it true",
    "is that true",
    "not true",
    "no evidence",
    "source?",
    "any source",
    "citation needed",
    "really?",
    "i doubt",
    "don't believe",
    "doesn't add up",
    "not sure",
    "check your facts",
    "get your facts",
    "no confirmation",
    "zero confirmation",
)
_POS_EMO = "good 赞 讚 鼓掌 给力 給力 心 爱你 愛你 威武 强 耶 哈哈 嘻嘻 太开心 笑哈哈 可爱 亲亲 抱抱 爱心传递 握手 ok 偷乐 花心 害羞"
_NEG_EMO = "怒 怒骂 抓狂 愤怒 鄙视 吐 衰 泪 淚 悲伤 悲傷 伤心 傷心 失望 蜡烛 蠟燭 弱 哼 右哼哼 左哼哼 委屈 泪流满面 惊恐 生病 汗 晕 暈 黑线 囧 疑问"
_POS_EMOJI = "👍👏🙏😊😃😄😁😍🥰❤💕💪"
_NEG_EMOJI = "😡🤬😭😢😥😪😞😔😩😫😤😠😨😰💔🖕🙄😒"

_NEGATORS_ZH = "不是|不|没有|沒有|没|沒|别|別|非|无|無|未|并非|並非"
_NEGATORS_EN = r"not|no|never|isn't|isnt|aren't|wasn't|don't|dont|doesn't|didn't|can't|cannot|hardly"


def _words(block: str) -> list[str]:
    return sorted({w for w in block.split() if w}, key=lambda w: (-len(w), w))


def _alt_zh(block: str) -> str:
    return "|".join(re.escape(w) for w in _words(block))


def _alt_en(block: str) -> str:
    return r"\b(?:" + "|".join(re.escape(w) for w in _words(block)) + r")\b"


def _alt_emoticon(block: str) -> str:
    return r"\[(?:" + "|".join(re.escape(w) for w in _words(block)) + r")\]"


def _lexical(zh: str, en: str) -> str:
    return f"(?:{_alt_zh(zh)})|{_alt_en(en)}"


def _negated(zh: str, en: str) -> str:
    """A negator directly before a Chinese word, or up to one word before an English one."""
    return f"(?:{_NEGATORS_ZH})(?:{_alt_zh(zh)})|\\b(?:{_NEGATORS_EN})\\s+(?:[a-z']+\\s+)?{_alt_en(en)}"


def _guard(pattern: str, blocks: Sequence[str], extra: str) -> str:
    """Prefix a lookahead on every possible first character: three times faster scans."""
    first = {w[0] for b in blocks for w in b.split()} | set(extra)
    return "(?=[" + "".join(re.escape(c) for c in sorted(first)) + "])(?:" + pattern + ")"


# Groups are tried left to right at each position; negated forms come first so that
# "不支持" counts as negative and its "支持" is not counted again.
_EMOTION_RE = re.compile(
    _guard(
        "|".join(
            [
                f"(?P<emo2>{_alt_emoticon(_EMO_STRONG)}|[{_EMOJI_STRONG}])",
                f"(?P<emo1>{_alt_emoticon(_EMO_ANY)}|[{_EMOJI_ANY}]|[:;]-?[()dDpP](?![a-z]))",
                f"(?P<strong>{_lexical(_STRONG_ZH, _STRONG_EN)})",
                f"(?P<weak>{_lexical(_WEAK_ZH, _WEAK_EN)}|(?:啊){{3,}}|(?:哈){{3,}}|(?:呜){{2,}})",
                f"(?P<intens>{_lexical(_INTENS_ZH, _INTENS_EN)})",
                "(?P<bang3>[!！?？]{3,})",
                "(?P<bang>[!！])",
            ]
        ),
        [_STRONG_ZH, _STRONG_EN, _WEAK_ZH, _WEAK_EN, _INTENS_ZH, _INTENS_EN],
        "[:;!！?？啊哈呜" + _EMOJI_STRONG + _EMOJI_ANY,
    )
)
_STANCE_RE = re.compile(
    _guard(
        "|".join(
            [
                f"(?P<negpos>{_negated(_POS_ZH, _POS_EN)})",
                f"(?P<negneg>{_negated(_NEG_ZH, _NEG_EN)})",
                "(?P<doubt>" + "|".join(re.escape(p) for p in _DOUBT_EN) + ")",
                f"(?P<posemo>{_alt_emoticon(_POS_EMO)}|[{_POS_EMOJI}])",
                f"(?P<negemo>{_alt_emoticon(_NEG_EMO)}|[{_NEG_EMOJI}])",
                f"(?P<pos>{_lexical(_POS_ZH, _POS_EN)})",
                f"(?P<neg>{_lexical(_NEG_ZH, _NEG_EN)})",
            ]
        ),
        [_POS_ZH, _POS_EN, _NEG_ZH, _NEG_EN, _NEGATORS_ZH.replace("|", " "), _NEGATORS_EN.replace("|", " ")]
        + list(_DOUBT_EN),
        "[" + _POS_EMOJI + _NEG_EMOJI,
    )
)
_STANCE_WEIGHTS = np.array([-1, 1, -2, 1, -1, 1, -1])  # in _STANCE_RE group order


def _scan(texts: Sequence[str], pattern: re.Pattern) -> np.ndarray:
    """Match counts per text and named group, shape (n, groups), from one pass over the corpus."""
    cleaned = [("" if t is None else str(t)).lower().replace("\n", " ") for t in texts]
    n, groups = len(cleaned), list(pattern.groupindex)
    starts = np.zeros(n + 1, dtype=np.int64)
    if n:
        np.cumsum([len(t) + 1 for t in cleaned], out=starts[1:])
    gid = {g: i for i, g in enumerate(groups)}
    pos, grp = [], []
    for m in pattern.finditer("\x00".join(cleaned)):  # no pattern can match across \x00
        pos.append(m.start())
        grp.append(gid[m.lastgroup])
    owner = np.searchsorted(starts, np.asarray(pos, dtype=np.int64), side="right") - 1
    flat = owner * len(groups) + np.asarray(grp, dtype=np.int64)
    return np.bincount(flat, minlength=n * len(groups)).reshape(n, len(groups))


def emotion_level(texts: Iterable[str]) -> np.ndarray:
    """Emotion intensity per text: 0 calm, 1 moderate, 2 intense.

    Score = 2 per strong word or high-arousal emoticon, 1 per other emotion word or
    emoticon, 1 for any '!', 2 for a run of three or more '!?'; intensifiers add 1 each
    (at most 2) once some emotion signal is present. Intense: any strong word, strong
    emoticon or '!!!' run, or a score of 4 or more; moderate: a score of 1 or more.
    """
    c = _scan(list(texts), _EMOTION_RE)
    emo2, emo1, strong, weak, intens, bang3, bang = c.T
    score = 2 * (emo2 + strong + bang3) + emo1 + weak + np.minimum(bang, 1)
    score = score + np.where(score > 0, np.minimum(intens, 2), 0)
    has_strong = (emo2 + strong + bang3) > 0
    level = np.where(has_strong | (score >= 4), 2, np.where(score >= 1, 1, 0))
    return level.astype(np.int8)


def _lexicon_score(texts: Sequence[str]) -> np.ndarray:
    return (_scan(texts, _STANCE_RE) @ _STANCE_WEIGHTS).astype(np.float64)


def stance_score(texts: Iterable[str]) -> np.ndarray:
    """Net stance signal per text (float); 0 means the text carries no stance signal (neutral).

    English texts (Latin letters, no CJK): the trained classifier's class, support +1, deny -1,
    query and comment 0. Other texts: positive minus negative lexicon hits, negated words
    flipped, doubt phrases counted double.
    """
    texts = ["" if t is None else str(t) for t in texts]
    score = _lexicon_score(texts)
    english = np.flatnonzero(stance_classifier.is_english(texts))
    if len(english):
        model = stance_classifier.shipped_model()
        score[english] = model.attitude([texts[i] for i in english])
    return score


def stance(texts: Iterable[str]) -> np.ndarray:
    """Attitude per text: 0 negative, 1 positive (``stance_score`` below 0 is negative).

    A text with no net signal is positive: sharing without objection is read as going along
    with the post, as a plain repost does (``stance_score`` keeps such texts at 0).
    """
    return (stance_score(texts) >= 0).astype(np.int8)
