//! The 4-byte grams most common in Defender JSON exports, ASCII case folded as the sampled
//! filter folds them (`| 0x20`), by about log2 of their count per 64 KiB: measured on 16 MiB of
//! storage-account lines (`gen_events --seed 7 --shape storage`), every gram seen at least 8
//! times per 64 KiB (1,298 of them). Keys and their spelling (`e":"`, `ninf` of
//! `VersionInfo`, `tion`, `cess`) and common values (`.com`, `mote`, `toke`): a window on one
//! of them hits every line or so, and each hit costs a verification. Per-byte frequencies
//! ([`super::commonness`]) rated `tion` like any four common letters.

/// `(log2 of the count per 64 KiB, the grams of that count concatenated)`, most common first.
pub(super) const COMMON_GRAMS: &[(u32, &[u8])] = &[
    (
        9,
        b"\"ini,\"inatincessgproiatiingpinititiangprnitiocesprocrocetiatting",
    ),
    (8, b"\",\"iame\"e\":\"me\":namesiontion"),
    (
        7,
        b"\",\"p\":\"s\":nu\"pro,\"pr.exe:nulaccoatioccoucoune\",\"enamersiessvexe\"fileid\":\
          infoion\"ionil,\"ill,\"n\":\"ninfnulloninountrsiossvesverull,versxe\",",
    ),
    (
        6,
        b"\",\"a\"202\":\"2\":\"c\"acc,\"ac-05-024-05-1202424-04-05:\"20alfiarenc:||contcrea\
          d\":\"devidowsducte\":nelevem\",enelessaesscessfessiesspesssevatevicfoprilenime\"\
          indointeiontkenelenalevalfilm\",\"nalfndownelenfopoducokenon\":oprop\":\"pareprod\
          reatrentrodusaccsid\"softsparssacsspastemsysttem\"tid\"timetnamtoketypevativicewind\
          ystez\",\"",
    ),
    (
        5,
        b"\"\",\"\",\"c\",\"d\",\"f\",\"m\",\"r\",\"s\":\"\"\":\"1\":\"a\":\"m\":\"p\":\"t\
          \":\"v\":|\"\"c:|\"dev\"mic\"pub\"rem\"s-1\"sys\"tim\"tok,\"de,\"lo,\"re-1-5.com\
          1\":\"1-5-256\"56\":6\":\"8\",\":\"\",:\"ad:\"c::\"mi:\"pu:\"s-:\"sy:\"to:c:|:||p\
          :||wa1\":a256ackuain\"amdaandlanynata|ath\"aultbackbjeccatecenackupcom\"commcompcorp\
          cripcrosctidctioctnactved\",\"d\":nd5\":datadefaderpdescdlindomae.exeatiectiedefedes\
          efauegriel\":emoteporeraternaerpaertiescresizesstestaevelfaulfielfocofofifoinfold\
          foorg:c:ginagramgritgrouh\":\"ha1\"ha25icenicroieldiginile iledilesin\":inaline\"\
          iptiitylize\"jectl\":\"lderle -ledelesilevelinelocalt\",mainmandmd5\"mdatmicrmman\
          motempann\":nndline\":nfocnfofnfoinfoonid\"ntdontegnterntidntimntnantobntosntsintup\
          ntypnynao.coobjeocalocomofilograointoldeom\",omaiommaompaonidontiontoontyoorioper\
          origoso.osofows|panypathpe\":pedeperapn\":portprogptiopublramdratiremorigiriptrity\
          rnalrogrrosorouprpats\":\"s-1-scomscrescriservsesssfilsha1sha2signsintsizeso.cssco\
          sscrssfisshassidssigssinssiossshsstostoks||tt\",\"t.exta||tdomtegrternth\":tobjtoso\
          tsidtupntvertyleubliuctnuctvult\"untduntnuntountsuntuupn\"vel\"ws||ylevynamype\"yped\
          ze\":{\"ti|\":||pro|win||pr||wi",
    ),
    (
        4,
        b" --f --s --t -ex -fi -k  -no -p  -s  /co /lo aut byp c:| fil net ope sch sys win\
          \",\"l\",\"o\",\"t\"10.\"565\":\"5\":\"n\":\"o\":\"w\":\"{\":\"|\":70\":{\"\"act\
          \"add\"adv\"app\"cat\"con\"fil\"loc\"mac\"nt \"ope\"rep\"ser\"sha\"svc\"ten\"vee\
          \"{|\"\"|\"c\"}\",\"}}-*{\"t,\"ad,\"ap,\"ca,\"fi,\"is,\"ma,\"op,\"sh,\"te-*{\"--fi\
          --se--ty-11t-13t-14t-18\"-2b2-5-1-8cb-95a-9a0-dev-exe-fie-fil-han-k n-nop-p --s s\
          -ses-tri-typ.con.cor.xml/con/log0,\"i0-2b02ee04,i0570088\"1\",\"18\",18042-9a22-9\
          2b222ee032||3cf74,i,5\":\"5-115-135-18565d57085a0-5d3c6\",\"65d37-8c70888-95804,\
          88\",8cb89,\"i95a09a02:\"10:\"56:\"co:\"nt:\"pr:\"se:\"sv:\"ve:\"{|:\"|\":{\"t=180\
          =rena0-2a02eachiacroactiaddiaderadvaaineal-halipam famp\"anceantiappgardcask-ass \
          atedategaturautha||sa||vb22-b8-9blisbypac\",\"calicb8-cedhceidcertces.cf7-chedchin\
          choschroconfcs -cuticy bd\":1d\":7d\":9d-trd3cfdcondditderedhunditidle=dor|drivds\":\
          duledvane --e -ee c:e057e=18e=reeadeeamsecuted\",edhuedriedulee05eeamegoregroeid\"\
          eld-eldsem32emp|enanendeendoentcentfentientser -erereridershervies\":es.eesesessm\
          essretsvettievenexecexe|e|\" f7-8fig:ft||ft\xe2\xaeg syg-degnatgnergonigorygs.xguar\
          h\",\"handheduhellhinehorihosthromhuntial-icaticeiicesicy ies\"ig:cignaigneimesineg\
          inering ing-ingsion=ionaionnionpion|ip\":iptsiptyish\"itioity\"k nel /ll-hald-tlds\"\
          le cle=1lfielicylishlog:logom fim32|machmestml /mp\":mp||n\",\"nantnatuncednderndle\
          ndornedrnegrnerinetsnfigng sng-dngs.nnamnoprnpolnt antaintcrntfintinnts\"oft oft|\
          oft\xe2og:cogonolicon\",onalonedonfionnaonpoontaoratoritorp.orpoort\"ortiory\"or||\
          ost.oteiotesoup\"owerows\xe2p -sp.copasspe=rpertpguapoliporapoweppguprofproppts|ptyp\
          p||rr --r\",\"ram rdcoreadrendreporer rialrid\"riverofiromeroperp.crporrshert\":rtid\
          rtierun-rvicry\":r||ss -fs -ps scs\",\"s\":{s\"}}s.exs.xmschesettsfolsh\",shelsmd5\
          sremss -ssfossmdssresssist.estamstatsvchsvcss||ss\xe2\xae t autaintamptasktcreteam\
          ted\"tegoteiptem3temptenatesetfilthortiestriats\",tsvcts||ttinturety\",t\xe2\xae \
          uardule untiup\":uthoutiovancvchovcs veeavendventwersworkws\xe2\xaexecuxe|\"xml y by\
          y\",\"y\":\"ypasype=|\" -|\"c:|\"pr|\"}\"|app|mic|run|scr|set|sys|tas|tem|ven||ap\
          ||mi||ru||sc||se||sy||ta||te||ve}\",\"}-*{}}-*\xae op\xae wi\xe2\xae o\xe2\xae w",
    ),
    (
        3,
        b" cor rea rep\",|\"\"4.0\":\"3\":\"4\":\"6\":\"7\":\"8\":\"b\":\"d\":\"e\":\"g\":\"u\
          \":0,\":99\":fa\"acr\"ado\"cer\"dir\"fol\"goo\"isi\"log\"md5\"msm\"one\"osv\"out\
          \"pow\"pri\"tcp\"tea\"val\"win,\"ce,\"fo,\"md,|\"p-10t-12t-21--5-2.0.1.0.2.1\",.190\
          .231.363.bac.ngu.sch.ser0\",\"0.0.0.190.23041.0z\",1.1\"1.3610.011.119041z\",2\",\"\
          2.ex23112z\",2||s3\",\"311.32.e36\",36363z\",4\",\"4.0.41.34z\",5\",\"5\":n5-105-12\
          5-145-215z\",636\"6z\",7\",\"7,\"i7z\",8z\",9\",\"904199,\"999,9z\",:\"4.:\"ac:\"go\
          :\"ms:\"on:\"os:\"po:\"tc:\"te:\"va:\"wi:0,\":999:fal:|\"o:||u`cona\",\"a.scadobalid\
          alpoalseal||am.bams.annaappdartkat rate\"atusa||lb\",\"bat bliccalpcal|catice.ecene\
          ceprchmicmd.col\"conncp\",crobcrord\":0d\":2d\":3d\":4d\":5d.exd32.der der|digidire\
          dobedor\"d|\":e\":1e\":2e,\"ieam eam.eateeid|eip\"eiptell.eneteng.eplieproer der.e\
          ers\"ers|ertyerveer||esseesslessues||etwoeurlexpley|\"e||af\",\"falsficaft cg.exgice\
          gle gnedgoogguyehmidic\",ice.icepicerid\",id|\"ificigicininiondionsiqueirecisinit.e\
          ivative.kevekey|kup kup.l,\"ll.exles|lic\"licalid\"lip\"liptll.elorelporlse,l||mm.ba\
          md.eme.emidtmpenms.emsmpn\":fna.sndevnectnertnetwng.enguynininip\"niqunit.nna.nnec\
          n|\":o\",\"obatobe ocologleol\":ome.ondeoniponneon|\"on||ooglor\",ord3orerorkeoso\"\
          osveotepoteuotocout|p\",\"p.sepdatpengplicplorppdaprivprotqueir dcr.exrd32rectrepl\
          rer.restrivarkevrl\":robarordrotors\"}rs||rtifrtkertyprustrverschmse,\"serssevesini\
          slogsmpeso\",ssesssevsslosssessstsstassunstarstedsunisvent cot ret.ngtarttatutcp\"\
          te\",tepoteurtifitkeytocotrustus\"twort|\"}t||tueiduniqup.suresurl\"us\":useruste\
          ut|\"uyenvalivateve.ewinixploy|\":{|\"d{|\"p|\",||\"di|\"ou|acr|bac|chr|loc|one|svc\
          |tea|use|vee||ac||ba||ch||lo||on||sv||us",
    ),
];
